package io.lockwarden.e2e.bench;

import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

/**
 * Live migration blackout (status.migration.handoffMillis: from the source's release to the target running with
 * every lock) over N migrations of one domain back and forth between two real agents, beside a baseline measured in
 * the same run (one optimistic-concurrency status update). Writes target/bench/migration.md. Run by
 * e2e/bench-migration.sh, never as a test.
 */
public final class MigrationBenchmark {
  private static final int MIGRATIONS = Integer.getInteger("migrations", 100);

  private MigrationBenchmark() {}

  public static void main(String[] args) throws Exception {
    try (ControlPlane controlPlane = ControlPlane.start()) {
      var admin = controlPlane.admin();
      double[] baseline = Stats.baseline(admin, 300);
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
            System.out.printf("[bench] %d of %d migrations; last hand-off %.0f ms%n", i + 1, MIGRATIONS, blackout[i]);
          }
        }
        Arrays.sort(blackout);
        Arrays.sort(total);
        StringBuilder md = new StringBuilder();
        md.append("| measurement | n | p50 ms | p99 ms | max ms | p50 / baseline p50 | p99 / baseline p99 |\n");
        md.append("|---|---|---|---|---|---|---|\n");
        md.append(Stats.row("baseline: one status PUT with resourceVersion", baseline, baseline));
        md.append(Stats.row("hand-off blackout (handoffMillis), Live", blackout, baseline));
        md.append(Stats.row("request to Completed (prepare + hand-off)", total, baseline));
        Files.createDirectories(Path.of("target", "bench"));
        Files.writeString(Path.of("target", "bench", "migration.md"), md.toString());
        system.delete("vm");
        system.awaitGone("vm");
      }
    }
  }

}
