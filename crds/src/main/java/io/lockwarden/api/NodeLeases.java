package io.lockwarden.api;

/**
 * The node heartbeat contract between the agent and the operator: a {@code coordination.k8s.io/v1} Lease per node in
 * the operator's namespace, renewed by the node's agent with optimistic concurrency, fenced by the operator before it
 * revokes the node's grants (docs/safety.md, TIME-1 and TIME-2).
 */
public final class NodeLeases {
  public static final String PREFIX = "lockwarden-node-";
  /** Set by the operator, with an update guarded by resourceVersion, when it revokes the node's grants. */
  public static final String FENCED_ANNOTATION = "lockwarden.io/fenced-at";

  private NodeLeases() {}

  public static String name(String node) {
    return PREFIX + node;
  }
}
