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
 * What the agent tells a spare supervisor on its standard input (see {@link SparePool}): the supervisor's
 * arguments ({@link SupervisorArgs}) and the domain's environment. Every supervisor the agent starts gets its domain
 * this way, never through its own environment: the supervisor's JVM runs as root, and a domain's {@code env} (say,
 * {@code JAVA_TOOL_OPTIONS}) must never configure it.
 *
 * <p>The format, NUL-separated like {@code /proc/PID/environ}, and ended by end of file:
 * <pre>
 * lockwarden-assignment/1 \0 LENGTH \0 KEY=VALUE \0 ... \0 \0 ARG \0 ARG \0 ...
 * </pre>
 * LENGTH is the byte count of everything after it: an assignment cut short (its agent killed while writing it) is
 * refused rather than run with, say, its last arguments missing. Neither an environment entry nor an argument can
 * hold a NUL, so nothing needs quoting. Anything else is a protocol error: the spare says so on its log and exits
 * with code 2, having touched nothing.
 */
record Assignment(Map<String, String> environment, List<String> args) {
  static final String MAGIC = "lockwarden-assignment/1";
  /**
   * Less than a pipe's buffer (64 KiB on Linux), so the agent's write never blocks on a spare that is slow to read
   * (it writes while deciding for every domain of its node). Far more than a real domain's command and environment.
   */
  static final int MAX_BYTES = 60 * 1024;

  /** @throws IllegalArgumentException if a value holds a NUL, or it all exceeds {@link #MAX_BYTES} */
  byte[] encode() {
    StringBuilder body = new StringBuilder();
    environment.forEach((key, value) -> body.append(check(key + "=" + value)).append('\0'));
    body.append('\0');
    args.forEach(arg -> body.append(check(arg)).append('\0'));
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    byte[] head = (MAGIC + "\0" + bytes.length + "\0").getBytes(StandardCharsets.UTF_8);
    if (head.length + bytes.length > MAX_BYTES) {
      throw new IllegalArgumentException("the domain's command and environment take " + bytes.length
          + " bytes; a supervisor takes at most " + MAX_BYTES);
    }
    byte[] all = new byte[head.length + bytes.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(bytes, 0, all, head.length, bytes.length);
    return all;
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
    return bytes.size() == 0 ? null : decode(bytes.toByteArray());
  }

  static Assignment decode(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    if (!text.startsWith(MAGIC + "\0")) {
      throw new IllegalArgumentException("not an assignment: expected '" + MAGIC + "' first");
    }
    int lengthEnd = text.indexOf('\0', MAGIC.length() + 1);
    int headBytes = (text.substring(0, lengthEnd + 1)).getBytes(StandardCharsets.UTF_8).length;
    long length;
    try {
      length = lengthEnd < 0 ? -1 : Long.parseLong(text.substring(MAGIC.length() + 1, lengthEnd));
    } catch (NumberFormatException e) {
      length = -1;
    }
    if (length < 0) {
      throw new IllegalArgumentException("assignment has no length after '" + MAGIC + "'");
    }
    if (bytes.length - headBytes != length) {
      throw new IllegalArgumentException("assignment cut short or padded: " + (bytes.length - headBytes)
          + " bytes where its head says " + length);
    }
    String body = text.substring(lengthEnd + 1);
    if (!body.endsWith("\0")) {
      throw new IllegalArgumentException("assignment does not end with a NUL");
    }
    String[] parts = body.substring(0, body.length() - 1).split("\0", -1);
    Map<String, String> environment = new LinkedHashMap<>();
    int i = 0;
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
