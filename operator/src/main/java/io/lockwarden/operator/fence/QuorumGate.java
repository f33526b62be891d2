package io.lockwarden.operator.fence;

import io.lockwarden.api.Members;
import io.lockwarden.api.NodeLeases;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator's side of TIME-4 (docs/safety.md, QUO-1): a node may be declared dead, and fenced, only while the
 * members that have not acknowledged a round this operator wrote at most {@code W} ago on its own clock are too few to
 * make a majority, of the member set and of the previous set if there is one. Agents cut off from the API server keep their domains running on promises from
 * a majority of their peers; the two majorities intersect, so the operator and those promises never act at once.
 *
 * <p>Pure: the caller feeds it the rounds it wrote ({@link #sent}), the rounds each node's latest renewal carries
 * ({@link #acknowledged}) and the published sets ({@link #published}), and passes the time in.
 */
public final class QuorumGate {
  private final long windowNanos;
  private final RoundTimes rounds = new RoundTimes();
  private final Map<String, NodeLeases.Acknowledgement> acknowledged = new ConcurrentHashMap<>();
  private volatile MemberSets.Published published = MemberSets.Published.NONE;
  /** The uid of the lockwarden-timing our rounds went into: a round of another incarnation is not ours. */
  private volatile String counter;

  private final boolean unsafeSkip;

  public QuorumGate(Duration window) {
    this(window, false);
  }

  /** @param unsafeSkip allow fencing whatever the acknowledgements: only for the negative control of QUO-1 */
  public QuorumGate(Duration window, boolean unsafeSkip) {
    this.windowNanos = window.toNanos();
    this.unsafeSkip = unsafeSkip;
  }

  public Duration window() {
    return Duration.ofNanos(windowNanos);
  }

  /** A write of {@code round} into the ConfigMap with uid {@code counter} succeeded; {@code g} was noted before. */
  void sent(long round, long g, String counter) {
    this.counter = counter;
    rounds.sent(round, g);
  }

  /** The newest round this operator wrote, or 0. */
  public long latestRound() {
    return rounds.latest();
  }

  /** The round a node's latest observed renewal carries; null: none (or unreadable), which acknowledges nothing. */
  void acknowledged(String node, NodeLeases.Acknowledgement ack) {
    if (ack == null) {
      acknowledged.remove(node);
    } else {
      acknowledged.put(node, ack);
    }
  }

  /** Each node's latest acknowledged round of our counter (the ConfigMap we write). */
  Map<String, Long> acknowledgements() {
    Map<String, Long> ours = new java.util.TreeMap<>();
    acknowledged.forEach((node, ack) -> {
      if (ack.uid().equals(counter)) {
        ours.put(node, ack.round());
      }
    });
    return ours;
  }

  /** The highest round any node has acknowledged, of any counter, or 0: the rounds we write stay above it. */
  long highestAcknowledged() {
    return acknowledged.values().stream().mapToLong(NodeLeases.Acknowledgement::round).max().orElse(0);
  }

  /** The sets as {@code lockwarden-timing} now says, written or read by this operator. */
  void published(MemberSets.Published sets) {
    published = sets;
  }

  MemberSets.Published published() {
    return published;
  }

  public Members members() {
    return published.members();
  }

  public Members previousMembers() {
    return published.previous();
  }

  /** Whether the node's latest renewal acknowledges a round written at most {@code W} before {@code now}. */
  public boolean isFresh(String node, long now) {
    NodeLeases.Acknowledgement ack = acknowledged.get(node);
    return ack != null && ack.uid().equals(counter) && rounds.isFresh(ack.round(), now, windowNanos);
  }

  /** How many nodes of {@code set} acknowledge freshly at {@code now}. */
  public int acknowledging(Members set, long now) {
    return acknowledging(set, now, null);
  }

  /** As {@link #acknowledging(Members, long)}, {@code excluded} not counted. */
  private int acknowledging(Members set, long now, String excluded) {
    return (int) set.addresses().keySet().stream().filter(n -> !n.equals(excluded) && isFresh(n, now)).count();
  }

  /**
   * QUO-1: the members that do not acknowledge freshly are too few to make a majority, of the current set and of the
   * previous set if any; then every majority that could have promised contains one that acknowledged. For an odd
   * number of members that is a strict majority acknowledging, for an even number half. An empty current set (nothing
   * published yet, or no node at all) never allows fencing; one member never does either (it is its own majority).
   */
  public boolean allowsFencing(long now) {
    return allowsFencing(now, null);
  }

  /**
   * As {@link #allowsFencing(long)}, for fencing {@code node} (or letting go of a grant it holds): its own
   * acknowledgement never counts. The argument needs the acknowledger it finds in every promising majority to be
   * another node; a node's own acknowledgement can still be fresh when it is cut off (review of issue #15).
   */
  public boolean allowsFencing(long now, String node) {
    if (unsafeSkip) {
      return true;
    }
    MemberSets.Published sets = published;
    if (sets.members().size() == 0 || !silentAreNoMajority(sets.members(), now, node)) {
      return false;
    }
    return sets.previous().size() == 0 || silentAreNoMajority(sets.previous(), now, node);
  }

  private boolean silentAreNoMajority(Members set, long now, String excluded) {
    return acknowledging(set, now, excluded) >= set.acknowledgersNeeded();
  }
}
