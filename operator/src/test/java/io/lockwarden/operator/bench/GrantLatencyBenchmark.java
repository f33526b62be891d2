package io.lockwarden.operator.bench;

import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.operator.it.OperatorProcess;
import io.lockwarden.operator.it.SimulatedAgent;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Create-to-Granted latency of the operator: 1,000 domains with one disk each on 3 simulated nodes, against a real
 * API server on loopback, beside a baseline measured in the same run: the round trip of one optimistic-concurrency
 * status update on the same API server, the floor any grant must pay at least once.
 *
 * <p>After a warm-up round (left out), two runs: paced (domains created at a steady rate, the latency a user sees) and
 * burst (all created as fast as one client can, which measures queueing). Writes Markdown to
 * target/bench/grant-latency.md; run by e2e/bench-grants.sh and e2e/bench.sh, never as a test.
 */
public final class GrantLatencyBenchmark {
  private static final int DOMAINS = Integer.getInteger("domains", 1000);
  private static final int PACED_PER_SECOND = Integer.getInteger("rate", 50);
  private static final int WARMUP = Integer.getInteger("warmup", 300);

  private GrantLatencyBenchmark() {}

  public static void main(String[] args) throws Exception {
    try (ControlPlane controlPlane = ControlPlane.start()) {
      KubernetesClient admin = controlPlane.admin();
      progress("baseline: 500 status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(admin, 500);

      String system = TestObjects.createNamespace(admin, "bench-system");
      String apps = TestObjects.createNamespace(admin, "bench-apps");
      List<SimulatedAgent> agents = new ArrayList<>();
      for (String node : List.of("bench-a", "bench-b", "bench-c")) {
        agents.add(SimulatedAgent.heartbeatOnly(admin, system, node));
      }
      Map<String, Long> grantedAt = new ConcurrentHashMap<>();
      Watch watch = admin.resources(DiskLease.class).watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, DiskLease lease) {
          DiskLeaseStatus status = lease.getStatus();
          if (status != null && !status.holders.isEmpty()) {
            grantedAt.putIfAbsent(lease.getMetadata().getName(), System.nanoTime());
          }
        }

        @Override
        public void onClose(WatcherException cause) {}
      });
      try (OperatorProcess operator = OperatorProcess.start(controlPlane, "bench-operator", system,
          Map.of("LOCKWARDEN_LEADER_ELECTION", "false"))) {
        Await.until("the operator sees 3 live nodes", Duration.ofSeconds(30),
            () -> operator.get("/metrics").contains("lockwarden_nodes_alive 3.0"));
        // The operator's JIT compiles its hot paths during the first few hundred grants: not what a long-running
        // operator shows, so a warm-up round goes first and is left out of the report.
        run(admin, apps, "warmup", WARMUP, PACED_PER_SECOND, grantedAt);
        double[] paced = run(admin, apps, "paced", DOMAINS, PACED_PER_SECOND, grantedAt);
        double[] burst = run(admin, apps, "burst", DOMAINS, 0, grantedAt);
        BenchReport.write("grant-latency", report(baseline, paced, burst));
      } finally {
        watch.close();
        agents.forEach(SimulatedAgent::close);
      }
    }
  }

  private static double[] run(KubernetesClient admin, String apps, String label, int count, int perSecond,
      Map<String, Long> grantedAt) {
    progress(label + ": creating " + count + " domains" + (perSecond > 0 ? " at " + perSecond + "/s" : " as fast as possible"));
    Map<String, Long> createdAt = new ConcurrentHashMap<>();
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      if (perSecond > 0) {
        long due = start + i * 1_000_000_000L / perSecond;
        while (System.nanoTime() < due) {
          Thread.onSpinWait(); // pacing a load generator, not waiting for a condition
        }
      }
      String name = label + "-" + i;
      String path = "/srv/bench/" + name + ".img";
      createdAt.put(LeaseNames.autoName(path), System.nanoTime());
      admin.resource(TestObjects.domain(apps, name, List.of("bench-a", "bench-b", "bench-c").get(i % 3),
          disk(path, AccessMode.Exclusive))).create();
      if ((i + 1) % 200 == 0) {
        progress(label + ": " + (i + 1) + " created, " + createdAt.keySet().stream().filter(grantedAt::containsKey).count()
            + " granted");
      }
    }
    Await.until(label + ": all " + count + " granted", Duration.ofMinutes(10),
        () -> createdAt.keySet().stream().allMatch(grantedAt::containsKey));
    double[] millis = createdAt.entrySet().stream()
        .mapToDouble(e -> (grantedAt.get(e.getKey()) - e.getValue()) / 1e6).sorted().toArray();
    progress(String.format("%s: done, p50 %.1f ms, p99 %.1f ms", label, Stats.percentile(millis, 50),
        Stats.percentile(millis, 99)));
    return millis;
  }

  private static String report(double[] baseline, double[] paced, double[] burst) {
    return "Real kube-apiserver and etcd on loopback (the test control plane), one operator process, 3 nodes whose\n"
        + "agents are simulated (heartbeats only), after a warm-up round of " + WARMUP + " domains that is left out.\n"
        + "Latency runs from just before the client's create call to the moment a watch on DiskLeases sees the holder.\n"
        + "The goal is p99 ≤ 100 ms.\n\n"
        + Stats.TABLE_HEADER
        + Stats.baselineRow(baseline)
        + Stats.row("create to Granted (ms), paced at " + PACED_PER_SECOND + "/s", paced, baseline)
        + Stats.row("create to Granted (ms), burst", burst, baseline)
        + "\n" + Stats.baselineRate(baseline);
  }
}
