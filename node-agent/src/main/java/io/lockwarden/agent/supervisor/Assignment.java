package io.lockwarden.agent.supervisor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the agent tells a spare supervisor on its standard input (see {@link SpareSupervisors}): the supervisor's
 * arguments ({@link SupervisorArgs}) and the domain's environment. Every supervisor the agent starts gets its domain
 * this way, never through its own environment: the supervisor's JVM runs as root, and a domain's {@code env} (say,
 * {@code JAVA_TOOL_OPTIONS}) must never configure it.
 *
 * <p>The format, NUL-separated like {@code /proc/PID/environ}, and ended by end of file:
 * <pre>
 * lockwarden-assignment/1 \0 KEY=VALUE \0 ... \0 \0 ARG \0 ARG \0 ...
 * </pre>
 * Neither an environment entry nor an argument can hold a NUL, so nothing needs quoting. Anything else is a protocol
 * error: the spare says so on its log and exits with code 2, having touched nothing.
 */
record Assignment(Map<String, String> environment, List<String> args) {
  static final String MAGIC = "lockwarden-assignment/1";
  /** Far more than any real assignment; a bound so that garbage on the pipe cannot fill the supervisor's heap. */
  static final int MAX_BYTES = 1 << 20;

  byte[] encode() {
    StringBuilder out = new StringBuilder(MAGIC).append('\0');
    environment.forEach((key, value) -> out.append(check(key + "=" + value)).append('\0'));
    out.append('\0');
    args.forEach(arg -> out.append(check(arg)).append('\0'));
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Reads to end of file; an empty input (the agent went away before assigning anything) is null. */
  static Assignment read(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    for (int n; (n = in.read(buffer)) >= 0; ) {
      bytes.write(buffer, 0, n);
      if (bytes.size() > MAX_BYTES) {
        throw new IllegalArgumentException("assignment longer than " + MAX_BYTES + " bytes");
      }
    }
    return bytes.size() == 0 ? null : decode(bytes.toString(StandardCharsets.UTF_8));
  }

  static Assignment decode(String text) {
    if (!text.endsWith("\0")) {
      throw new IllegalArgumentException("assignment cut short (no final NUL)");
    }
    String[] parts = text.substring(0, text.length() - 1).split("\0", -1);
    if (!parts[0].equals(MAGIC)) {
      throw new IllegalArgumentException("not an assignment: expected '" + MAGIC + "' first");
    }
    Map<String, String> environment = new LinkedHashMap<>();
    int i = 1;
    for (; i < parts.length && !parts[i].isEmpty(); i++) {
      int eq = parts[i].indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("environment entry " + i + " is not KEY=VALUE");
      }
      environment.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
    }
    if (i >= parts.length) {
      throw new IllegalArgumentException("assignment has no end of environment (an empty entry)");
    }
    List<String> args = new ArrayList<>(List.of(parts).subList(i + 1, parts.length));
    if (args.isEmpty()) {
      throw new IllegalArgumentException("assignment has no arguments");
    }
    return new Assignment(environment, args);
  }

  private static String check(String value) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("a NUL cannot be passed to a supervisor: " + value.replace('\0', '?'));
    }
    return value;
  }
}
