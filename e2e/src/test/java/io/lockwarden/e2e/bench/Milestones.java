package io.lockwarden.e2e.bench;

import io.lockwarden.testing.Await;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * When each of a few things first happened, in ms from one moment (a fault). Things seen by a watch are marked from
 * its callback; local process states (paused, gone) are sampled every 5 ms, which is the resolution of those parts.
 */
final class Milestones implements AutoCloseable {
  private static final long SAMPLE_MILLIS = 5;

  private final long startNanos = System.nanoTime();
  private final Map<String, Double> seen = new ConcurrentHashMap<>();
  private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "milestones");
    thread.setDaemon(true);
    return thread;
  });

  /** Marks {@code name} now, unless it was marked before. */
  void mark(String name) {
    double millis = (System.nanoTime() - startNanos) / 1e6;
    seen.putIfAbsent(name, millis);
  }

  /** Marks {@code name} at the first sample at which {@code condition} holds. */
  void sample(String name, BooleanSupplier condition) {
    sampler.scheduleWithFixedDelay(() -> {
      if (!seen.containsKey(name) && condition.getAsBoolean()) {
        mark(name);
      }
    }, 0, SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** ms from the start to {@code name}, or null if it has not happened. */
  Double millis(String name) {
    return seen.get(name);
  }

  double await(String name, Duration timeout) {
    return Await.value(name, timeout, () -> seen.get(name));
  }

  @Override
  public void close() {
    sampler.shutdownNow();
  }
}
