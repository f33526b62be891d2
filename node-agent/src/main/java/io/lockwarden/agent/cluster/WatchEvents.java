package io.lockwarden.agent.cluster;

/** Where the view reports each event its watches deliver: the agent's metrics, or nothing in tests. */
@FunctionalInterface
public interface WatchEvents {
  WatchEvents NONE = kind -> {};

  /** The kinds the agent watches, as the metric's {@code kind} label says them. */
  enum Kind {
    SupervisedDomain,
    DiskLease
  }

  /** One add, update or delete of an object of {@code kind}. */
  void received(Kind kind);
}
