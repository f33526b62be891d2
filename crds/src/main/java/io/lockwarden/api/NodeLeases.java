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
  /**
   * Written by the agent with each renewal: the newest round of {@code lockwarden-timing} it has learned, or while it
   * has promises out, the one it froze (docs/safety.md, TIME-4), as {@code <uid of the ConfigMap>/<round>}: a round
   * counts only within the incarnation of the ConfigMap that carried it (a ConfigMap made again starts a new counter).
   * Its acknowledgement of that round. Absent for {@code MAX_PROMISE} after an agent starts that cannot know its
   * predecessor's promises (another boot).
   */
  public static final String ROUND_ANNOTATION = "lockwarden.io/round";
  /** Written by the agent with each renewal: {@code host:port} where its peers reach it for promises, or absent. */
  public static final String PEER_ANNOTATION = "lockwarden.io/peer-address";

  private NodeLeases() {}

  /** An acknowledgement as {@link #ROUND_ANNOTATION} carries it: a round of one incarnation of lockwarden-timing. */
  public record Acknowledgement(String uid, long round) {
    /** The annotation's value, {@code <uid>/<round>}. */
    public String format() {
      return uid + "/" + round;
    }

    /** Null for an absent or malformed value, which acknowledges nothing. */
    public static Acknowledgement parse(String text) {
      if (text == null) {
        return null;
      }
      int slash = text.lastIndexOf('/');
      try {
        return slash <= 0 ? null : new Acknowledgement(text.substring(0, slash), Long.parseLong(text.substring(slash + 1)));
      } catch (NumberFormatException e) {
        return null;
      }
    }
  }

  public static String name(String node) {
    return PREFIX + node;
  }
}
