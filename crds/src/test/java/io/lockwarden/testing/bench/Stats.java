package io.lockwarden.testing.bench;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.testing.TestObjects;
import java.util.Arrays;

/**
 * What every benchmark shares: the baseline it is a ratio of, percentiles, and Markdown rows. Shared through the crds
 * test-jar, so the operator's benchmarks and the e2e ones compute and print them the same way.
 */
public final class Stats {
  /** The header of a table of {@link #row} lines. */
  public static final String TABLE_HEADER = "| measurement | n | p50 | p99 | max | p50 / baseline p50 | p99 / baseline p99 |\n"
      + "|---|---|---|---|---|---|---|\n";
  public static final String BASELINE_ROW = "baseline: one status PUT with resourceVersion (ms)";

  private Stats() {}

  /**
   * The baseline, item (a) of the suite: status updates with optimistic concurrency on one DiskLease, one after the
   * other, each carrying the resourceVersion of the previous write. Round trips in ms, sorted.
   */
  public static double[] baseline(KubernetesClient admin, int n) {
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

  /** Sequential updates per second the baseline achieved: its count over the sum of its round trips. */
  public static double perSecond(double[] baseline) {
    return baseline.length / (Arrays.stream(baseline).sum() / 1000);
  }

  /** The nearest-rank percentile of sorted values. */
  public static double percentile(double[] sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(index, sorted.length - 1))];
  }

  /** | what | n | p50 | p99 | max | p50 / baseline p50 | p99 / baseline p99 |, for values in ms (sorted here). */
  public static String row(String what, double[] millis, double[] baseline) {
    double[] sorted = millis.clone();
    Arrays.sort(sorted);
    double p50 = percentile(sorted, 50);
    double p99 = percentile(sorted, 99);
    return String.format("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f |%n", what, sorted.length, p50, p99,
        sorted[sorted.length - 1], p50 / percentile(baseline, 50), p99 / percentile(baseline, 99));
  }

  /** The baseline's own row, which every table starts with. */
  public static String baselineRow(double[] baseline) {
    return row(BASELINE_ROW, baseline, baseline);
  }

  /** One line under a table: the baseline as a rate, which throughput results are a ratio of. */
  public static String baselineRate(double[] baseline) {
    return String.format("Baseline throughput: %.1f sequential status updates per second.%n", perSecond(baseline));
  }
}
