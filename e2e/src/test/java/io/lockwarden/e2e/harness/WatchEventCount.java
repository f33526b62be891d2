package io.lockwarden.e2e.harness;

/** An agent's own count of the events its watches delivered ({@code lockwarden_agent_watch_events_total}), by kind. */
public final class WatchEventCount {
  private WatchEventCount() {}

  /** The count for {@code kind} (SupervisedDomain or DiskLease) in an agent's /metrics text. */
  public static double in(String metrics, String kind) {
    return metrics.lines().filter(l -> l.startsWith("lockwarden_agent_watch_events_total{")
        && l.contains("kind=\"" + kind + "\"")).mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
        .sum();
  }
}
