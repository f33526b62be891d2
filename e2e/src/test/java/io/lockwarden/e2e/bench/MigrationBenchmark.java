package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;

/**
 * Warm migration blackout (status.migration.handoffMillis: from the source's release to the target running with
 * every lock) over N migrations of one domain back and forth between two real agents, beside a baseline measured in
 * the same run (one optimistic-concurrency status update). Writes target/bench/migration.md. Run by
 * e2e/bench-migration.sh and e2e/bench.sh, never as a test.
 */
public final class MigrationBenchmark {
  private static final int MIGRATIONS = Integer.getInteger("migrations", 100);

  private MigrationBenchmark() {}

  public static void main(String[] args) throws Exception {
    RealSystemBenchmarks.runAlone('d');
  }

  static String run(LocalSystem system, double[] baseline) {
    SupervisedDomain domain = system.workload("vm", "a", system.exclusive("vm.img"), system.shared("data.img"));
    system.create(domain);
    system.awaitRunning("vm", "a");
    progress(MIGRATIONS + " Warm migrations of " + system.key("vm") + " between " + system.node("a") + " and "
        + system.node("b"));
    double[] blackout = new double[MIGRATIONS];
    double[] total = new double[MIGRATIONS];
    for (int i = 0; i < MIGRATIONS; i++) {
      String target = system.node(i % 2 == 0 ? "b" : "a");
      long start = System.nanoTime();
      system.patch("vm", "{\"spec\":{\"migration\":{\"targetNode\":\"" + target + "\",\"mode\":\"Warm\"}}}");
      SupervisedDomain done = Await.value("migration " + i + " completed", Duration.ofSeconds(60), () -> {
        SupervisedDomain d = system.domain("vm");
        MigrationStatus m = d.getStatus().migration;
        return m != null && target.equals(m.target) && MigrationStatus.COMPLETED.equals(m.phase)
            && d.getStatus().pid != null ? d : null;
      });
      total[i] = (System.nanoTime() - start) / 1e6;
      blackout[i] = done.getStatus().migration.handoffMillis;
      // As a client would before asking again: the operator says Starting or Waiting for a moment after the move
      // (until its cache has the moved grants), and refuses a migration of a domain that is not Running.
      system.awaitRunning("vm", i % 2 == 0 ? "b" : "a");
      if (i % 10 == 9) {
        progress(String.format("%d of %d migrations; last hand-off %.0f ms", i + 1, MIGRATIONS, blackout[i]));
      }
    }
    system.delete("vm");
    system.awaitGone("vm");
    return "One domain running the demo workload (one Exclusive and one Shared disk) migrated Warm back and forth\n"
        + "between two real agents (a and b of the suite's three, default timeouts), one after the other. The blackout\n"
        + "is `status.migration.handoffMillis`: from the moment the source's supervisor stopped the process and\n"
        + "released its Exclusive locks to the moment the target's supervisor held every lock and continued the process\n"
        + "(both wall-clock, same host). The goal is p99 ≤ 100 ms.\n\n"
        + Stats.TABLE_HEADER
        + Stats.baselineRow(baseline)
        + Stats.row("hand-off blackout (handoffMillis, ms), Warm", blackout, baseline)
        + Stats.row("request to Completed (prepare + hand-off, ms)", total, baseline);
  }
}
