package io.lockwarden.operator.fence;

import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * When this operator sent each round it wrote (docs/safety.md, TIME-4, QUO-1): {@code g(r)}, on its own monotonic
 * clock, noted <em>before</em> the write was sent, kept only for writes that succeeded. An agent reads a round before
 * it sends the renewal carrying it, so a renewal acknowledging {@code r} was sent after {@code g(r)}, whatever the
 * delays: the one comparison of times TIME-4 needs, made on one clock.
 *
 * <p>Only our own writes have a known {@code g}. A round we did not write (another replica's, without leader election)
 * counts as our latest one below it: that one was sent earlier still, so the bound only gets more careful. A round
 * older than all we remember has no {@code g}: it never counts as fresh.
 */
final class RoundTimes {
  /** Far longer than any window: older entries only ever answer "not fresh", which a missing entry answers too. */
  static final long KEEP_NANOS = 60_000_000_000L;

  private final TreeMap<Long, Long> sentAt = new TreeMap<>();

  /** A write of {@code round}, noted at {@code g} before it was sent, succeeded. */
  synchronized void sent(long round, long g) {
    sentAt.put(round, g);
    // Keep the latest entry whatever its age: it is what a higher round maps to.
    while (sentAt.size() > 1 && g - sentAt.firstEntry().getValue() > KEEP_NANOS) {
      sentAt.pollFirstEntry();
    }
  }

  /** {@code g} of our latest round at or below {@code round}; empty if we wrote none that old (or it is forgotten). */
  synchronized OptionalLong sentAtOrBefore(long round) {
    Map.Entry<Long, Long> floor = sentAt.floorEntry(round);
    return floor == null ? OptionalLong.empty() : OptionalLong.of(floor.getValue());
  }

  /** The newest round we wrote, or 0. */
  synchronized long latest() {
    return sentAt.isEmpty() ? 0 : sentAt.lastKey();
  }

  /** Whether an acknowledgement of {@code round} is fresh at {@code now}: sent at most {@code windowNanos} after g. */
  boolean isFresh(long round, long now, long windowNanos) {
    OptionalLong g = sentAtOrBefore(round);
    return g.isPresent() && now - g.getAsLong() <= windowNanos;
  }
}
