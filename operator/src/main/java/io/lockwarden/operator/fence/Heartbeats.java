package io.lockwarden.operator.fence;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The liveness rule, on a monotonic clock given by the caller: pure, so the timing is tested without waiting.
 *
 * <ul>
 *   <li>A node is dead once no renewal has been seen for the period ({@code nodeTimeout + grace}) of continuous
 *       watching. Silence while not watching does not count: each (re)start of watching gives every node a fresh
 *       period, and nobody is declared dead while not watching.
 *   <li>A node is alive once a renewal has been seen while watching, and it is not dead.
 * </ul>
 */
final class Heartbeats {
  private final long periodNanos;
  private final Map<String, Long> lastRenewal = new ConcurrentHashMap<>();
  private final Set<String> renewedWhileWatching = ConcurrentHashMap.newKeySet();
  private volatile boolean watching;
  private volatile long watchingSince;

  Heartbeats(long periodNanos) {
    this.periodNanos = periodNanos;
  }

  /** A node became known without a renewal seen (its Lease was listed): the period starts, it is not alive yet. */
  void known(String node, long now) {
    lastRenewal.putIfAbsent(node, now);
  }

  void renewed(String node, long now) {
    lastRenewal.put(node, now);
    if (watching) {
      renewedWhileWatching.add(node);
    }
  }

  /** @return true if watching just (re)started */
  boolean watching(boolean nowWatching, long now) {
    boolean started = nowWatching && !watching;
    if (started) {
      watchingSince = now;
      lastRenewal.replaceAll((node, t) -> now);
    }
    watching = nowWatching;
    return started;
  }

  boolean isWatching() {
    return watching;
  }

  boolean isDead(String node, long now) {
    if (!watching) {
      return false;
    }
    long since = Math.max(lastRenewal.getOrDefault(node, watchingSince), watchingSince);
    return now - since > periodNanos;
  }

  boolean isAlive(String node, long now) {
    return renewedWhileWatching.contains(node) && !isDead(node, now);
  }

  Set<String> nodes() {
    return lastRenewal.keySet();
  }
}
