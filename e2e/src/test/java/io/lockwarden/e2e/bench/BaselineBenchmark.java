package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.Stats;

/**
 * Item (a) of the suite, the ceiling everything else is a ratio of: N status updates with optimistic concurrency on one
 * DiskLease, one after the other, against the same kind of API server the other benchmarks use (each of them measures
 * this baseline again in its own run, on its own API server, and gives its ratios against that). Writes
 * target/bench/baseline.md. Run by e2e/bench.sh, never as a test.
 */
public final class BaselineBenchmark {
  private static final int UPDATES = Integer.getInteger("updates", 1000);

  private BaselineBenchmark() {}

  public static void main(String[] args) {
    try (ControlPlane controlPlane = ControlPlane.start()) {
      progress("baseline: " + UPDATES + " status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(controlPlane.admin(), UPDATES);
      BenchReport.write("baseline", "Real kube-apiserver and etcd on loopback (the test control plane), nothing else "
          + "running on it.\nOne client PUTs the status of one DiskLease, each update carrying the resourceVersion the "
          + "previous one returned\n(the write every grant, release and fence is made of), right after the API server "
          + "started, as in every\nother section, which measures the same baseline again in its own run. The round trip "
          + "runs from just before\nthe call to its answer; updates per second is n over the sum of the round trips.\n\n"
          + Stats.TABLE_HEADER
          + Stats.baselineRow(baseline)
          + "\n" + Stats.baselineRate(baseline));
      progress(String.format("baseline: p50 %.1f ms, p99 %.1f ms, %.1f updates/s", Stats.percentile(baseline, 50),
          Stats.percentile(baseline, 99), Stats.perSecond(baseline)));
    }
  }
}
