package io.lockwarden.operator.config;

import io.lockwarden.api.Durations;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * The operator's settings: command-line flags ({@code --node-timeout=10s}) win over environment variables
 * ({@code LOCKWARDEN_NODE_TIMEOUT=10s}), which win over the defaults. A bad value stops the operator at start with a
 * message naming the setting.
 *
 * @param unsafeSkipQuorum {@value #UNSAFE_SKIP_QUORUM}=true: fence without QUO-1's acknowledgements. Test-only, for
 *     the negative control that shows the checker catching two writers when a cut-off majority runs on promises; an
 *     environment variable only, never a flag, and logged loudly at start
 */
public record OperatorConfig(String namespace, int metricsPort, Duration nodeTimeout, Duration grace,
    boolean leaderElection, Duration leaderLeaseDuration, String identity, Duration quorumWindow,
    boolean unsafeSkipQuorum) {

  public static final String UNSAFE_SKIP_QUORUM = "LOCKWARDEN_UNSAFE_SKIP_QUORUM";

  public static OperatorConfig from(String[] args, Map<String, String> env) {
    Map<String, String> flags = new HashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--") || !arg.contains("=")) {
        throw new IllegalArgumentException("unknown argument '" + arg + "': use --name=value");
      }
      flags.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
    }
    Settings s = new Settings(flags, env);
    OperatorConfig config = new OperatorConfig(
        s.get("namespace", "lockwarden-system"),
        port(s.get("metrics-port", "8080")),
        Durations.parse("node-timeout", s.get("node-timeout", "10s")),
        Durations.parse("grace", s.get("grace", "2s")),
        Boolean.parseBoolean(s.get("leader-election", "true")),
        Durations.parse("leader-lease-duration", s.get("leader-lease-duration", "15s")),
        s.get("identity", env.getOrDefault("HOSTNAME", "lockwarden-operator") + "-" + ProcessHandle.current().pid()),
        // W of docs/safety.md, TIME-4: above renewInterval + 500 ms + latencies, or fencing only comes late.
        positive("quorum-window", Durations.parse("quorum-window", s.get("quorum-window", "3s"))),
        unsafe(env.getOrDefault(UNSAFE_SKIP_QUORUM, "false")));
    if (config.quorumWindow().compareTo(config.nodeTimeout().plus(config.grace())) >= 0) {
      // TIME-4: a node silent for nodeTimeout + grace must no longer count as acknowledging, or its own stale
      // acknowledgement could make the majority that fences it while it runs on promises.
      throw new IllegalArgumentException("quorum-window (" + Durations.format(config.quorumWindow())
          + ") must be shorter than node-timeout + grace (" + Durations.format(config.nodeTimeout().plus(config.grace()))
          + ")");
    }
    flags.keySet().removeAll(Settings.KNOWN);
    if (!flags.isEmpty()) {
      throw new IllegalArgumentException("unknown flags " + flags.keySet() + "; known: " + Settings.KNOWN);
    }
    return config;
  }

  private static boolean unsafe(String value) {
    if (!value.equals("true") && !value.equals("false")) {
      throw new IllegalArgumentException(UNSAFE_SKIP_QUORUM + ": '" + value + "' is neither true nor false");
    }
    return value.equals("true");
  }

  private static Duration positive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": must be above 0, not " + Durations.format(value));
    }
    return value;
  }

  private static int port(String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("metrics-port: '" + value + "' is not a port number (0 picks a free one)");
  }

  private record Settings(Map<String, String> flags, Map<String, String> env) {
    static final java.util.Set<String> KNOWN =
        java.util.Set.of("namespace", "metrics-port", "node-timeout", "grace", "leader-election",
            "leader-lease-duration", "identity", "quorum-window");

    String get(String flag, String fallback) {
      String envName = "LOCKWARDEN_" + flag.toUpperCase().replace('-', '_');
      return flags.getOrDefault(flag, env.getOrDefault(envName, fallback));
    }
  }
}
