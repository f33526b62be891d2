package io.lockwarden.operator.fence;

import io.lockwarden.api.Members;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The operator's side of TIME-4 (docs/safety.md, QUO-1): a node may be declared dead, and fenced, only while a strict
 * majority of the member set, and of the previous set if there is one, has acknowledged a round this operator wrote at
 * most {@code W} ago on its own clock. Agents cut off from the API server keep their domains running on promises from
 * a majority of their peers; the two majorities intersect, so the operator and those promises never act at once.
 *
 * <p>Pure: the caller feeds it the rounds it wrote ({@link #sent}), the rounds each node's latest renewal carries
 * ({@link #acknowledged}) and the published sets ({@link #published}), and passes the time in.
 */
public final class QuorumGate {
  private final long windowNanos;
  private final RoundTimes rounds = new RoundTimes();
  private final Map<String, Long> acknowledged = new ConcurrentHashMap<>();
  private volatile MemberSets.Published published = MemberSets.Published.NONE;

  public QuorumGate(Duration window) {
    this.windowNanos = window.toNanos();
  }

  public Duration window() {
    return Duration.ofNanos(windowNanos);
  }

  /** A write of {@code round} succeeded; {@code g} was noted before it was sent. */
  void sent(long round, long g) {
    rounds.sent(round, g);
  }

  /** The newest round this operator wrote, or 0. */
  public long latestRound() {
    return rounds.latest();
  }

  /** The round a node's latest observed renewal carries; null: none (or unreadable), which acknowledges nothing. */
  void acknowledged(String node, Long round) {
    if (round == null) {
      acknowledged.remove(node);
    } else {
      acknowledged.put(node, round);
    }
  }

  /** Each node's latest acknowledged round. */
  Map<String, Long> acknowledgements() {
    return Map.copyOf(acknowledged);
  }

  /** The highest round any node has acknowledged, or 0: the rounds this operator writes must stay above it. */
  long highestAcknowledged() {
    return acknowledged.values().stream().mapToLong(Long::longValue).max().orElse(0);
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
    Long round = acknowledged.get(node);
    return round != null && rounds.isFresh(round, now, windowNanos);
  }

  /** How many nodes of {@code set} acknowledge freshly at {@code now}. */
  public int acknowledging(Members set, long now) {
    return (int) set.addresses().keySet().stream().filter(node -> isFresh(node, now)).count();
  }

  /**
   * A strict majority of the current set, and of the previous set if any, acknowledges freshly. An empty current set
   * (nothing published yet, or no node at all) never allows fencing.
   */
  public boolean allowsFencing(long now) {
    MemberSets.Published sets = published;
    if (sets.members().size() == 0 || acknowledging(sets.members(), now) < sets.members().majority()) {
      return false;
    }
    return sets.previous().size() == 0 || acknowledging(sets.previous(), now) >= sets.previous().majority();
  }
}
