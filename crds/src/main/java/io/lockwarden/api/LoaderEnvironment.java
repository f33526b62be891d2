package io.lockwarden.api;

import java.util.Set;

/**
 * Environment variables a domain may not set: they configure how a program is loaded and run (the dynamic loader,
 * glibc's tunables, its locale and charset modules, malloc tracing), and the first program of a domain's start,
 * {@code setpriv}, runs as root before it takes the domain's user (docs/safety.md, SEC-5). They are glibc's own list
 * of variables it ignores for setuid programs ({@code unsecvars.h}) but TMPDIR and TZDIR (setpriv makes no temporary
 * file and formats no time, and a VM may want TMPDIR), and every {@code LD_} variable.
 *
 * <p>Refused at admission by the CEL rule {@link #RULE} on {@code spec.env[].name}, and dropped by the agent from any
 * domain admitted before that rule existed.
 */
public final class LoaderEnvironment {
  /** The same names as {@link #NAMES}, as a CEL rule ({@code LoaderEnvironmentTest} keeps them equal). */
  public static final String RULE = "!self.startsWith('LD_') && !(self in ['GCONV_PATH', 'GETCONF_DIR', "
      + "'GLIBC_TUNABLES', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE', 'NIS_PATH', 'NLSPATH', "
      + "'RESOLV_HOST_CONF', 'RES_OPTIONS'])";
  public static final String MESSAGE = "env names starting with LD_, and GLIBC_TUNABLES, GCONV_PATH, LOCPATH, NLSPATH "
      + "and the rest of glibc's list for setuid programs, configure the root program that starts the domain";

  static final Set<String> NAMES = Set.of("GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
      "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS");

  private LoaderEnvironment() {}

  /** Whether a domain may not set {@code name}. */
  public static boolean refused(String name) {
    return name.startsWith("LD_") || NAMES.contains(name);
  }
}
