package io.lockwarden.api;

import java.time.Duration;
import java.util.Map;

/**
 * The operator's timing, published for the agents (docs/safety.md, TIME-2): a ConfigMap {@code lockwarden-timing} in
 * the operator's namespace (the one holding the node Leases), written by the operator, read by every agent. An agent
 * renews its node Lease only while {@code fenceTimeout + 200 ms < nodeTimeout + grace} holds against what is published
 * here, so a timing that breaks the rule pauses domains instead of letting a dead node's grants move while it writes.
 */
public final class TimingConfigMap {
  public static final String NAME = "lockwarden-timing";
  /** Durations as {@link Durations#parse} reads them ("10s"). */
  public static final String NODE_TIMEOUT = "nodeTimeout";
  public static final String GRACE = "grace";
  /** The identity of the operator that wrote it: for people, not for the rule. */
  public static final String PUBLISHED_BY = "publishedBy";

  // --- The quorum (docs/safety.md, TIME-4), written by the deciding operator every 500 ms ---
  /** A counter the operator increments; agents report the newest they learned in their renewals. */
  public static final String ROUND = "round";
  /** {@code W}: how old a round may be and still count as an acknowledgement; a duration ("3s"). */
  public static final String WINDOW = "window";
  /** The member set, in {@link Members} form: every node with a Lease, and the peer address it advertises. */
  public static final String MEMBERS = "members";
  /** The round that first carried {@link #MEMBERS}. */
  public static final String MEMBERS_SINCE = "membersSince";
  /** The set before {@link #MEMBERS}, in {@link Members} form; the operator counts a majority in both. */
  public static final String PREVIOUS_MEMBERS = "previousMembers";

  private TimingConfigMap() {}

  public static Map<String, String> data(Duration nodeTimeout, Duration grace, String publishedBy) {
    return Map.of(NODE_TIMEOUT, Durations.format(nodeTimeout), GRACE, Durations.format(grace), PUBLISHED_BY,
        publishedBy);
  }
}
