package io.lockwarden.operator.bench;

import static io.lockwarden.testing.TestObjects.disk;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
 * target/bench/grant-latency.md.
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
      double[] baseline = baseline(admin, 500);

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
        String report = report(baseline, paced, burst);
        Path out = Path.of("target", "bench", "grant-latency.md");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report);
        System.out.println(report);
      } finally {
        watch.close();
        agents.forEach(SimulatedAgent::close);
      }
    }
  }

  /** Milliseconds of each PUT of a status that carries the resourceVersion of the previous write. */
  private static double[] baseline(KubernetesClient admin, int updates) {
    DiskLease lease = admin.resource(TestObjects.diskLease("bench-baseline", "/srv/bench/baseline.img")).create();
    double[] millis = new double[updates];
    for (int i = 0; i < updates; i++) {
      DiskLeaseStatus status = new DiskLeaseStatus();
      status.epoch = (long) i;
      lease.setStatus(status);
      long start = System.nanoTime();
      lease = admin.resource(lease).updateStatus();
      millis[i] = (System.nanoTime() - start) / 1e6;
    }
    return millis;
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
    progress(label + ": done, p50 " + fmt(percentile(millis, 50)) + " ms, p99 " + fmt(percentile(millis, 99)) + " ms");
    return millis;
  }

  private static String report(double[] baseline, double[] paced, double[] burst) {
    double base50 = percentile(baseline, 50);
    double base99 = percentile(baseline, 99);
    StringBuilder md = new StringBuilder();
    md.append("| measurement | n | p50 ms | p99 ms | max ms | p50 / baseline p50 | p99 / baseline p99 |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    md.append(row("baseline: one status PUT with resourceVersion", baseline, base50, base99));
    md.append(row("create to Granted, paced at " + PACED_PER_SECOND + "/s", paced, base50, base99));
    md.append(row("create to Granted, burst", burst, base50, base99));
    md.append("\nBaseline throughput: ").append(fmt(1000 / (Arrays.stream(baseline).sum() / baseline.length)))
        .append(" sequential status updates per second.\n");
    return md.toString();
  }

  private static String row(String what, double[] millis, double base50, double base99) {
    double[] sorted = millis.clone();
    Arrays.sort(sorted);
    return "| " + what + " | " + sorted.length + " | " + fmt(percentile(sorted, 50)) + " | " + fmt(percentile(sorted, 99))
        + " | " + fmt(sorted[sorted.length - 1]) + " | " + fmt(percentile(sorted, 50) / base50) + " | "
        + fmt(percentile(sorted, 99) / base99) + " |\n";
  }

  static double percentile(double[] values, double p) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(index, sorted.length - 1))];
  }

  private static String fmt(double value) {
    return String.format("%.1f", value);
  }

  private static void progress(String message) {
    System.out.println("[bench] " + message);
  }
}
