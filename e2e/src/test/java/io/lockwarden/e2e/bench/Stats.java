package io.lockwarden.e2e.bench;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.testing.TestObjects;
import java.util.Arrays;

/** What every benchmark shares: the baseline it is a ratio of, percentiles, and a Markdown row. */
final class Stats {
  private Stats() {}

  /** Status updates with optimistic concurrency on one DiskLease, one after the other: round trips in ms, sorted. */
  static double[] baseline(KubernetesClient admin, int n) {
    DiskLease lease = admin.resource(TestObjects.diskLease(TestObjects.uniqueName("baseline"), "/srv/bench/baseline.img"))
        .create();
    double[] millis = new double[n];
    for (int i = 0; i < n; i++) {
      lease.setStatus(new DiskLeaseStatus());
      lease.getStatus().epoch = (long) i;
      long start = System.nanoTime();
      lease = admin.resource(lease).updateStatus();
      millis[i] = (System.nanoTime() - start) / 1e6;
    }
    Arrays.sort(millis);
    return millis;
  }

  static double percentile(double[] sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(index, sorted.length - 1))];
  }

  /** | what | n | p50 | p99 | max | p50 / baseline p50 | p99 / baseline p99 | */
  static String row(String what, double[] sorted, double[] baseline) {
    double p50 = percentile(sorted, 50);
    double p99 = percentile(sorted, 99);
    return String.format("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", what, sorted.length, p50, p99,
        sorted[sorted.length - 1], p50 / percentile(baseline, 50), p99 / percentile(baseline, 99));
  }
}
