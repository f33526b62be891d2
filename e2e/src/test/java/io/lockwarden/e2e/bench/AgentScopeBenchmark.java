package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.WatchEventCount;
import io.lockwarden.testing.AgentRenewals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.ProcessReadings;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Agent scope (issue #16): does an agent's memory or watch traffic grow with domains on OTHER nodes? One real agent
 * (a) runs {@code OWN} domains with real supervisors; then N domains, each with one Exclusive disk, are created on
 * simulated nodes (their heartbeats only, renewed by this benchmark like an agent, so the operator grants them), and
 * granted. Agent a's RSS and heap after a full GC are read before and after, and its own count of the events its watches
 * delivered ({@code lockwarden_agent_watch_events_total}) is compared with what a watch on every domain and every
 * DiskLease (what each agent had before #16) delivers in the same window. Writes target/bench/scope.md.
 */
public final class AgentScopeBenchmark {
  private static final int OWN = Integer.getInteger("ownDomains", 20);
  private static final int OTHERS = Integer.getInteger("otherDomains", 5000);
  /**
   * Two, beside the three real nodes: once the benchmark stops their heartbeats (to have their domains deleted), the
   * three still acknowledge the operator's rounds, a majority, so the operator fences the two (TIME-4); with more
   * simulated nodes than real ones it would rightly fence nobody, and the deletes would wait forever.
   */
  private static final int SIMULATED_NODES = 2;
  private static final double RATE = 50;

  private AgentScopeBenchmark() {}

  public static void main(String[] args) throws Exception {
    RealSystemBenchmarks.runAlone('i');
  }

  static String run(LocalSystem system, double[] baseline) throws Exception {
    KubernetesClient admin = system.admin;
    progress("agent scope: " + OWN + " domains on agent a");
    for (int i = 0; i < OWN; i++) {
      String name = String.format("own-%03d", i);
      system.create(TestObjects.domain(system.apps, name, system.node("a"), system.exclusive(name + ".img")));
    }
    for (int i = 0; i < OWN; i++) {
      system.awaitRunning(String.format("own-%03d", i), "a");
    }
    JavaProcess agent = system.agent("a");
    Reading before = Reading.of(agent);

    String others = TestObjects.createNamespace(admin, system.prefix + "-others");
    List<String> nodes = new ArrayList<>();
    for (int i = 0; i < SIMULATED_NODES; i++) {
      nodes.add(system.prefix + "-sim-" + i);
    }
    ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
    heartbeats.scheduleWithFixedDelay(() -> nodes.forEach(n -> {
      try {
        AgentRenewals.renew(admin, system.system, n);
      } catch (RuntimeException e) {
        // a missed renewal, as a flaky node has; the next round tries again
      }
    }), 0, 2, TimeUnit.SECONDS);
    system.awaitNodesAlive(3 + SIMULATED_NODES);
    AtomicLong allDomainEvents = new AtomicLong();
    AtomicLong allLeaseEvents = new AtomicLong();
    Watch domainWatch = admin.resources(SupervisedDomain.class).inAnyNamespace().watch(counting(allDomainEvents));
    Set<String> granted = ConcurrentHashMap.newKeySet();
    Watch leaseWatch = admin.resources(DiskLease.class).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, DiskLease lease) {
        allLeaseEvents.incrementAndGet();
        if (action != Action.DELETED && lease.getStatus() != null
            && lease.getStatus().holders.stream().anyMatch(h -> nodes.contains(h.node))) {
          granted.add(lease.getMetadata().getName());
        }
      }

      @Override
      public void onClose(WatcherException cause) {}
    });
    try {
      progress("creating " + OTHERS + " domains on " + SIMULATED_NODES + " simulated nodes at " + RATE + "/s");
      long intervalNanos = (long) (1e9 / RATE);
      long next = System.nanoTime();
      for (int i = 0; i < OTHERS; i++) {
        String name = String.format("other-%05d", i);
        while (System.nanoTime() < next) {
          Thread.onSpinWait();
        }
        admin.resource(TestObjects.domain(others, name, nodes.get(i % SIMULATED_NODES),
            system.exclusive(name + ".img"))).create();
        next += intervalNanos;
        if (i % 500 == 499) {
          progress("created " + (i + 1) + " of " + OTHERS);
        }
      }
      long[] reported = {0};
      Await.until("all " + OTHERS + " granted to their simulated nodes", Duration.ofMinutes(15), () -> {
        if (System.nanoTime() - reported[0] > 10_000_000_000L) {
          progress("granted on simulated nodes: " + granted.size() + " of " + OTHERS);
          reported[0] = System.nanoTime();
        }
        return granted.size() >= OTHERS;
      });
      Reading after = Reading.of(agent);
      // No clean-up: this item runs last on its system, which is closed next. Deleting 5,000 domains of two fenced
      // nodes took the operator longer than the item itself (about 4 releases a second; docs/benchmarks.md, item i).
      return report(baseline, before, after, allDomainEvents.get(), allLeaseEvents.get());
    } finally {
      domainWatch.close();
      leaseWatch.close();
      heartbeats.shutdownNow();
    }
  }

  private static <T> Watcher<T> counting(AtomicLong count) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        count.incrementAndGet();
      }

      @Override
      public void onClose(WatcherException cause) {}
    };
  }

  /** Agent a at one moment: RSS, heap used after a full collection, and the events its watches delivered so far. */
  private record Reading(double rssMiB, double liveHeapMiB, double domainEvents, double leaseEvents) {
    static Reading of(JavaProcess agent) throws Exception {
      ProcessReadings.fullGc(agent.pid());
      String metrics = agent.get("/metrics");
      return new Reading(ProcessReadings.rssMiB(agent.pid()), ProcessReadings.heapMiB(agent.pid())[1],
          WatchEventCount.in(metrics, "SupervisedDomain"), WatchEventCount.in(metrics, "DiskLease"));
    }
  }

  private static String report(double[] baseline, Reading before, Reading after, long allDomainEvents,
      long allLeaseEvents) {
    StringBuilder md = new StringBuilder();
    md.append("Real kube-apiserver and etcd on loopback, the operator and three agents at default timeouts. Agent a runs\n"
        + OWN + " domains (real supervisors, `/bin/sleep`, one Exclusive disk each). Then " + OTHERS + " domains, one\n"
        + "Exclusive disk each, are created at " + (int) RATE + "/s on " + SIMULATED_NODES + " simulated nodes (node\n"
        + "Leases renewed every 2 s by the benchmark, nothing else) and granted by the operator. Agent a's RSS and heap\n"
        + "used are read after a full GC (`jcmd GC.run`), before and after. \"Every object\" is a watch on every domain\n"
        + "and every DiskLease opened for the same window: what each agent received before issue #16. Agent a's events\n"
        + "are its own count, `lockwarden_agent_watch_events_total`.\n\n");
    md.append(Stats.TABLE_HEADER);
    md.append(Stats.baselineRow(baseline));
    md.append("\n| agent a | with its " + OWN + " domains | after " + OTHERS + " on other nodes | growth per 1,000 other "
        + "domains |\n|---|---|---|---|\n");
    md.append(row("RSS (MiB)", before.rssMiB(), after.rssMiB()));
    md.append(row("heap used after a full GC (MiB)", before.liveHeapMiB(), after.liveHeapMiB()));
    md.append(row("SupervisedDomain events received", before.domainEvents(), after.domainEvents()));
    md.append(row("DiskLease events received", before.leaseEvents(), after.leaseEvents()));
    md.append(String.format("%n| events in the window | agent a received | a watch on every object received |%n"
        + "|---|---|---|%n| SupervisedDomain | %.0f | %d |%n| DiskLease | %.0f | %d |%n",
        after.domainEvents() - before.domainEvents(), allDomainEvents, after.leaseEvents() - before.leaseEvents(),
        allLeaseEvents));
    return md.toString();
  }

  private static String row(String what, double before, double after) {
    return String.format("| %s | %.1f | %.1f | %.2f |%n", what, before, after, (after - before) * 1000.0 / OTHERS);
  }
}
