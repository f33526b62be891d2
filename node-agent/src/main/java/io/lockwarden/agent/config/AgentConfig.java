package io.lockwarden.agent.config;

import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.api.Durations;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The node agent's settings: command-line flags ({@code --fence-timeout=6s}) win over environment variables
 * ({@code LOCKWARDEN_FENCE_TIMEOUT=6s}), which win over the defaults. The node name also comes from {@code NODE_NAME}
 * (the downward API). A bad value stops the agent at start with a message naming the setting.
 *
 * @param runAsUid uid (with {@code runAsGid}) the domains' processes run as: 65534 (nobody) unless set, so that a
 *     domain can rewrite nothing the agent or its supervisor trusts and read none of the agent's credentials
 *     (docs/safety.md, SEC-4); 0 only if set so explicitly
 * @param cgroupRoot where each domain gets a cgroup v2 directory of its own ({@code auto}: the host's cgroup2 mount
 *     plus {@code lockwarden/<node>}; {@code none}: no cgroups, supervisors track domains as child subreapers)
 * @param unsafeDisable safety rules switched off for a negative control (LOCKWARDEN_UNSAFE_DISABLE); empty in production
 * @param unsafeSkipTimingRule {@value #UNSAFE_SKIP_TIMING_RULE}=true: renew even while TIME-2 does not hold against
 *     the operator's published timing. Test-only, for the chaos suite's negative control, which breaks TIME-2 on
 *     purpose; an environment variable only, never a flag, and logged loudly at start
 * @param supervisorSpares how many supervisors the agent keeps started ahead, each waiting for a domain (see
 *     {@code SparePool}): 2 unless set; 0 starts each supervisor when it is needed
 * @param lockdSocket where the agent serves libvirt's lockd protocol ({@code LOCKWARDEN_LOCKD_SOCKET}; default
 *     {@value #LOCKD_SOCKET_DEFAULT}, the path libvirt's lockd plugin looks at as root); null when set to
 *     {@value #NONE}: no lockd service
 */
public record AgentConfig(String nodeName, String namespace, Path runDir, Path lockspaceDir,
    Set<String> allowedExecutables, List<Path> allowedPathPrefixes, Duration renewInterval, Duration fenceTimeout,
    Duration pauseTimeout, int metricsPort, String metricsAddress, Integer runAsUid, Integer runAsGid,
    String cgroupRoot, Set<SupervisorArgs.Unsafe> unsafeDisable, boolean unsafeSkipTimingRule, Path lockdSocket,
    int supervisorSpares) {

  public static final String UNSAFE_SKIP_TIMING_RULE = "LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE";
  public static final String LOCKD_SOCKET_DEFAULT = "/run/libvirt/virtlockd-sock";
  /** The value of a setting that turns its service off. */
  public static final String NONE = "none";

  static final Set<String> KNOWN = Set.of("node-name", "namespace", "run-dir", "lockspace-dir", "allowed-executables",
      "allowed-path-prefixes", "renew-interval", "fence-timeout", "pause-timeout", "metrics-port", "metrics-address",
      "run-as-uid", "run-as-gid", "cgroup-root", "unsafe-disable", "lockd-socket", "supervisor-spares");

  static final int MAX_SPARES = 32;

  /** The default user and group of domains: nobody and nogroup. */
  static final String NOBODY = "65534";

  public static AgentConfig from(String[] args, Map<String, String> env) {
    Map<String, String> flags = new HashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--") || !arg.contains("=")) {
        throw new IllegalArgumentException("unknown argument '" + arg + "': use --name=value");
      }
      flags.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
    }
    Map<String, String> unknown = new HashMap<>(flags);
    unknown.keySet().removeAll(KNOWN);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("unknown flags " + unknown.keySet() + "; known: " + KNOWN);
    }
    Settings s = new Settings(flags, env);
    String node = s.get("node-name", env.get("NODE_NAME"));
    if (node == null || !node.matches("[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?")) {
      throw new IllegalArgumentException("node-name: '" + node + "' is not a node name (set --node-name or NODE_NAME)");
    }
    Duration renew = Durations.parse("renew-interval", s.get("renew-interval", "2s"));
    Duration fence = Durations.parse("fence-timeout", s.get("fence-timeout", "6s"));
    if (renew.compareTo(fence) >= 0) {
      throw new IllegalArgumentException("renew-interval (" + renew + ") must be shorter than fence-timeout (" + fence
          + "): every renewal must land before the last one's deadline");
    }
    String lockspace = s.get("lockspace-dir", null);
    String uidSet = s.get("run-as-uid", null);
    String gidSet = s.get("run-as-gid", null);
    Integer uid = integer("run-as-uid", uidSet == null || uidSet.isBlank() ? NOBODY : uidSet);
    Integer gid = integer("run-as-gid", gidSet == null || gidSet.isBlank() ? NOBODY : gidSet);
    if ((uidSet == null || uidSet.isBlank()) != (gidSet == null || gidSet.isBlank())) {
      throw new IllegalArgumentException("run-as-uid and run-as-gid go together");
    }
    String unsafe = env.getOrDefault(UNSAFE_SKIP_TIMING_RULE, "false");
    if (!unsafe.equals("true") && !unsafe.equals("false")) {
      throw new IllegalArgumentException(UNSAFE_SKIP_TIMING_RULE + ": '" + unsafe + "' is neither true nor false");
    }
    return new AgentConfig(node, s.get("namespace", "lockwarden-system"),
        Path.of(s.get("run-dir", "/var/run/lockwarden")).toAbsolutePath(),
        lockspace == null || lockspace.isBlank() ? null : Path.of(lockspace).toAbsolutePath(),
        Set.copyOf(list(s.get("allowed-executables", ""))),
        list(s.get("allowed-path-prefixes", "")).stream().map(Path::of).toList(),
        renew, fence, Durations.parse("pause-timeout", s.get("pause-timeout", "30s")),
        port(s.get("metrics-port", "8081")), s.get("metrics-address", "0.0.0.0"), uid, gid,
        s.get("cgroup-root", "auto"), unsafe(s.get("unsafe-disable", "")), unsafe.equals("true"),
        lockdSocket(s.get("lockd-socket", LOCKD_SOCKET_DEFAULT)), spares(s.get("supervisor-spares", "2")));
  }

  private static Path lockdSocket(String value) {
    if (value.equals(NONE)) {
      return null;
    }
    if (value.isBlank() || !value.startsWith("/")) {
      throw new IllegalArgumentException("lockd-socket: '" + value + "' is neither an absolute path nor '" + NONE
          + "'");
    }
    return Path.of(value);
  }

  private static Set<SupervisorArgs.Unsafe> unsafe(String value) {
    try {
      return SupervisorArgs.Unsafe.parse(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unsafe-disable: '" + value + "' names no rule; known: "
          + List.of(SupervisorArgs.Unsafe.values()));
    }
  }

  private static List<String> list(String value) {
    return Arrays.stream(value.split(",")).map(String::trim).filter(v -> !v.isEmpty()).toList();
  }

  private static Integer integer(String name, String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    try {
      return Integer.valueOf(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": '" + value + "' is not a number");
    }
  }

  private static int spares(String value) {
    Integer spares = integer("supervisor-spares", value);
    if (spares == null || spares < 0 || spares > MAX_SPARES) {
      throw new IllegalArgumentException("supervisor-spares: '" + value + "' is not a number from 0 to " + MAX_SPARES
          + " (each spare is a supervisor's JVM, about 46 MiB, waiting)");
    }
    return spares;
  }

  private static int port(String value) {
    Integer port = integer("metrics-port", value);
    if (port == null || port < 0 || port > 65535) {
      throw new IllegalArgumentException("metrics-port: '" + value + "' is not a port number (0 picks a free one)");
    }
    return port;
  }

  private record Settings(Map<String, String> flags, Map<String, String> env) {
    String get(String flag, String fallback) {
      String envName = "LOCKWARDEN_" + flag.toUpperCase().replace('-', '_');
      return flags.getOrDefault(flag, env.getOrDefault(envName, fallback));
    }
  }
}
