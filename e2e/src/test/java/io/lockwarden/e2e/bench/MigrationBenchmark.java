package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.Map;

/**
 * Live migration blackout (status.migration.handoffMillis: from the source's release to the target running with
 * every lock) over N migrations of one domain back and forth between two real agents, beside a baseline measured in
 * the same run (one optimistic-concurrency status update). Writes target/bench/migration.md. Run by
 * e2e/bench-migration.sh and e2e/bench.sh, never as a test.
 */
public final class MigrationBenchmark {
  private static final int MIGRATIONS = Integer.getInteger("migrations", 100);

  private MigrationBenchmark() {}

  public static void main(String[] args) throws Exception {
    try (ControlPlane controlPlane = ControlPlane.start()) {
      var admin = controlPlane.admin();
      progress("baseline: 300 status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(admin, 300);
      progress("starting the operator and two agents (default timeouts), " + MIGRATIONS + " migrations");
      try (LocalSystem system = LocalSystem.start(controlPlane, "benchmig", Map.of(), Map.of(), "a", "b")) {
        SupervisedDomain domain = system.workload("vm", "a", system.exclusive("vm.img"), system.shared("data.img"));
        system.create(domain);
        system.awaitRunning("vm", "a");
        double[] blackout = new double[MIGRATIONS];
        double[] total = new double[MIGRATIONS];
        for (int i = 0; i < MIGRATIONS; i++) {
          String target = system.node(i % 2 == 0 ? "b" : "a");
          long start = System.nanoTime();
          admin.resources(SupervisedDomain.class).inNamespace(system.apps).withName("vm").patch(
              PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"migration\":{\"targetNode\":\"" + target
                  + "\",\"mode\":\"Live\"}}}");
          SupervisedDomain done = Await.value("migration " + i + " completed", Duration.ofSeconds(60), () -> {
            SupervisedDomain d = system.domain("vm");
            MigrationStatus m = d.getStatus().migration;
            return m != null && target.equals(m.target) && MigrationStatus.COMPLETED.equals(m.phase)
                && d.getStatus().pid != null ? d : null;
          });
          total[i] = (System.nanoTime() - start) / 1e6;
          blackout[i] = done.getStatus().migration.handoffMillis;
          if (i % 10 == 9) {
            progress(String.format("%d of %d migrations; last hand-off %.0f ms", i + 1, MIGRATIONS, blackout[i]));
          }
        }
        BenchReport.write("migration", "One domain running the demo workload (one Exclusive and one Shared disk) migrated Live\n"
            + "back and forth between two real agents, one after the other. The blackout is\n"
            + "`status.migration.handoffMillis`: from the moment the source's supervisor stopped the process and released\n"
            + "its Exclusive locks to the moment the target's supervisor held every lock and continued the process (both\n"
            + "wall-clock, same host). The goal is p99 ≤ 100 ms.\n\n"
            + Stats.TABLE_HEADER
            + Stats.baselineRow(baseline)
            + Stats.row("hand-off blackout (handoffMillis, ms), Live", blackout, baseline)
            + Stats.row("request to Completed (prepare + hand-off, ms)", total, baseline));
        system.delete("vm");
        system.awaitGone("vm");
      }
    }
  }

}
