package io.lockwarden.operator.lease;

import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A hand-off made of a release on one node and, soon after, a grant of the same lease to the same domain on another:
 * how libvirt's live migration moves a disk (the source releases at the switch-over, the target acquires before its
 * CPUs run). Remembered in memory only: it feeds an Event and a metric, never a decision.
 */
final class ReleaseThenGrant {
  /** A release and a grant elsewhere further apart than this are two events, not one hand-off. */
  static final Duration WINDOW = Duration.ofMinutes(2);

  record HandOff(String from, long fromEpoch, Duration gap) {}

  private record Release(String node, long epoch, long at) {}

  private final Map<String, Release> last = new ConcurrentHashMap<>();

  void released(String lease, LeaseHolder holder, long nanoTime) {
    last.put(lease + "/" + holder.uid, new Release(holder.node, holder.epoch == null ? 0 : holder.epoch, nanoTime));
  }

  /** The hand-off this grant completes, or null. */
  HandOff granted(String lease, LeaseHolder holder, long nanoTime) {
    last.values().removeIf(r -> nanoTime - r.at() > WINDOW.toNanos());
    Release release = last.remove(lease + "/" + holder.uid);
    if (release == null || release.node().equals(holder.node)) {
      return null;
    }
    return new HandOff(release.node(), release.epoch(), Duration.ofNanos(nanoTime - release.at()));
  }
}
