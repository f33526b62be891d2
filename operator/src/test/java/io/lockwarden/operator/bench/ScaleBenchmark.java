package io.lockwarden.operator.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.it.OperatorProcess;
import io.lockwarden.operator.it.SimulatedAgent;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.ProcessReadings;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Item (f) of the suite, scale: L declared DiskLeases (default 10,000) and D domains (default 5,000), each domain
 * holding L/D of them Exclusive, on 3 nodes whose agents are simulated (heartbeats only), against a real API server
 * with one real operator process. Measures the operator's memory once every lease is granted and it is idle, and the
 * time to a full resync after a restart. Writes target/bench/scale.md. Run by e2e/bench.sh, never as a test.
 *
 * <p>Resync, precisely: from the moment the restarted operator's process is spawned to the first moment its /metrics
 * show (i) at least as many successful reconciles of each controller as there are objects of its kind, and (ii) no
 * reconcile queued and none running in either controller. JOSDK queues every object of its cache at start, so (ii)
 * after (i) means every object has been reconciled by the new process; the counts at that moment are reported, so a
 * reconcile run twice for one object shows.
 */
public final class ScaleBenchmark {
  private static final int LEASES = Integer.getInteger("leases", 10_000);
  private static final int DOMAINS = Integer.getInteger("domains", 5_000);
  private static final int CREATORS = 4;
  private static final List<String> NODES = List.of("scale-a", "scale-b", "scale-c");
  private static final Duration WAIT = Duration.ofMinutes(30);

  private ScaleBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (LEASES % DOMAINS != 0) {
      throw new IllegalArgumentException("leases must be a multiple of domains, got " + LEASES + " and " + DOMAINS);
    }
    int perDomain = LEASES / DOMAINS;
    try (ControlPlane controlPlane = ControlPlane.start()) {
      KubernetesClient admin = controlPlane.admin();
      progress("baseline: 300 status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(admin, 300);

      String system = TestObjects.createNamespace(admin, "scale-system");
      String apps = TestObjects.createNamespace(admin, "scale-apps");
      List<SimulatedAgent> agents = new ArrayList<>();
      NODES.forEach(node -> agents.add(SimulatedAgent.heartbeatOnly(admin, system, node)));
      Map<String, String> env = Map.of("LOCKWARDEN_LEADER_ELECTION", "false");
      try {
        // Everything exists before the first operator starts, so creation speed is not what is measured.
        long createStart = System.nanoTime();
        createAll("DiskLeases", LEASES, i -> admin.resource(TestObjects.diskLease(leaseName(i), "/srv/scale/" + leaseName(i)
            + ".img")).create());
        createAll("domains", DOMAINS, i -> admin.resource(domain(apps, i, perDomain)).create());
        double createSeconds = (System.nanoTime() - createStart) / 1e9;

        progress("starting the operator; waiting until all " + LEASES + " leases are granted");
        long firstStart = System.nanoTime();
        Memory steady;
        try (OperatorProcess operator = OperatorProcess.start(controlPlane, "scale-operator-1", system, env)) {
          Await.until("all " + LEASES + " leases granted and the operator idle", WAIT, () -> {
            String metrics = operator.get("/metrics");
            double grants = Metrics.sum(metrics, "lockwarden_grants_total", "mode=\"Exclusive\"");
            progressEvery(Duration.ofSeconds(10), String.format("%.0f of %d leases granted", grants, LEASES));
            return grants >= LEASES && Metrics.idle(metrics);
          });
          progress(String.format("all granted %.1f s after the operator started; measuring its memory",
              (System.nanoTime() - firstStart) / 1e9));
          steady = Memory.of(operator.pid());
        }

        progress("restarting the operator: resync of " + LEASES + " leases and " + DOMAINS + " domains");
        long spawned = System.nanoTime();
        try (OperatorProcess operator = OperatorProcess.start(controlPlane, "scale-operator-2", system, env)) {
          double startedSeconds = (System.nanoTime() - spawned) / 1e9;
          String[] atResync = new String[1];
          Await.until("the restarted operator reconciled every object", WAIT, () -> {
            String metrics = operator.get("/metrics");
            atResync[0] = metrics;
            return Metrics.reconciled(metrics, "disklease") >= LEASES
                && Metrics.reconciled(metrics, "superviseddomain") >= DOMAINS && Metrics.idle(metrics);
          });
          double resyncSeconds = (System.nanoTime() - spawned) / 1e9;
          progress(String.format("resync took %.1f s; measuring memory", resyncSeconds));
          Memory afterResync = Memory.of(operator.pid());
          BenchReport.write("scale", report(baseline, perDomain, createSeconds, steady, startedSeconds, resyncSeconds,
              Metrics.reconciled(atResync[0], "disklease"), Metrics.reconciled(atResync[0], "superviseddomain"),
              afterResync));
        }
      } finally {
        agents.forEach(SimulatedAgent::close);
      }
      // No clean-up: the control plane, with every object, is discarded with this process.
    }
  }

  private static String leaseName(int i) {
    return String.format("scale-%05d", i);
  }

  /** Domain i on a node chosen round-robin, holding leases i*perDomain .. i*perDomain+perDomain-1 Exclusive. */
  private static SupervisedDomain domain(String apps, int i, int perDomain) {
    DomainDisk[] disks = new DomainDisk[perDomain];
    for (int k = 0; k < perDomain; k++) {
      disks[k] = new DomainDisk();
      disks[k].leaseName = leaseName(i * perDomain + k);
      disks[k].mode = AccessMode.Exclusive;
    }
    return TestObjects.domain(apps, String.format("vm-%05d", i), NODES.get(i % NODES.size()), disks);
  }

  /** Creates {@code count} objects with a few client threads, since one after the other would take minutes. */
  private static void createAll(String what, int count, IntConsumer create) throws Exception {
    progress("creating " + count + " " + what);
    AtomicInteger done = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(CREATORS);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < CREATORS; t++) {
        int first = t;
        futures.add(pool.submit(() -> {
          for (int i = first; i < count; i += CREATORS) {
            create.accept(i);
            if (done.incrementAndGet() % 1000 == 0) {
              progress(done.get() + " of " + count + " " + what + " created");
            }
          }
        }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static long lastProgress;

  private static void progressEvery(Duration interval, String message) {
    long now = System.nanoTime();
    if (now - lastProgress > interval.toNanos()) {
      lastProgress = now;
      progress(message);
    }
  }

  private static String report(double[] baseline, int perDomain, double createSeconds, Memory steady,
      double startedSeconds, double resyncSeconds, double leaseReconciles, double domainReconciles, Memory after) {
    return String.format("Real kube-apiserver and etcd on loopback, one operator process (`-Xmx512m`, the JVM's "
        + "default collector), 3 nodes\nwhose agents are simulated (heartbeats only). %,d declared DiskLeases and %,d "
        + "domains, each holding %d of them\nExclusive, all created before the operator starts (%.0f s, %d client "
        + "threads). Memory is read once every lease is\ngranted and the operator is idle: VmRSS and VmHWM (peak RSS) "
        + "from /proc, heap from `jcmd GC.heap_info` (used\nincludes garbage not yet collected). Resync runs from the "
        + "moment the restarted operator's process is spawned\nto the first moment its /metrics show at least as many "
        + "successful reconciles of each controller as there are\nobjects of its kind, and no reconcile queued or "
        + "running. The goals are RSS ≤ 512 MiB and resync ≤ 30 s.%n%n",
        LEASES, DOMAINS, perDomain, createSeconds, CREATORS)
        + Stats.TABLE_HEADER
        + Stats.baselineRow(baseline)
        + String.format("%n| measurement | value |%n|---|---|%n")
        + steady.rows("operator after all grants")
        + String.format("| restart: process spawned to started (caches synced, `event=started`) | %.1f s |%n",
            startedSeconds)
        + String.format("| restart: process spawned to full resync | %.1f s |%n", resyncSeconds)
        + String.format("| reconciles counted at that moment: DiskLease / SupervisedDomain | %.0f / %.0f |%n",
            leaseReconciles, domainReconciles)
        + after.rows("operator after the resync");
  }

  /** The operator's memory at one moment, in MiB. */
  private record Memory(double rss, double peakRss, double heapCommitted, double heapUsed) {
    static Memory of(long pid) {
      double[] heap = ProcessReadings.heapMiB(pid);
      return new Memory(ProcessReadings.rssMiB(pid), ProcessReadings.peakRssMiB(pid), heap[0], heap[1]);
    }

    String rows(String when) {
      return String.format("| %s: RSS / peak RSS (MiB) | %.0f / %.0f |%n| %s: heap used / committed (MiB) | %.0f / %.0f |%n",
          when, rss, peakRss, when, heapUsed, heapCommitted);
    }
  }

  /** Reading the operator's Prometheus text: JOSDK's reconcile counters and queues, lockwarden's own counters. */
  private static final class Metrics {
    private Metrics() {}

    /** The sum of every sample of {@code name} whose labels contain {@code labelFilter}. */
    static double sum(String text, String name, String labelFilter) {
      double sum = 0;
      for (String line : text.split("\n")) {
        if (line.startsWith(name + "{") && line.contains(labelFilter)) {
          sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return sum;
    }

    static double reconciled(String text, String controller) {
      return sum(text, "operator_sdk_controllers_execution_reconcile_success_total", "controller=\"" + controller + "\"");
    }

    /** Nothing queued and nothing running in either controller. */
    static boolean idle(String text) {
      for (String controller : new String[] {"disklease", "superviseddomain"}) {
        if (sum(text, "operator_sdk_reconciliations_queue_size_" + controller, "") > 0
            || sum(text, "operator_sdk_reconciliations_executions_" + controller, "") > 0) {
          return false;
        }
      }
      return true;
    }
  }
}
