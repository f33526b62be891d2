package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.RestartPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Item (c) of the suite, contention: N domains ({@code -Dholders}, default 100) queued on ONE Exclusive disk, spread over three real
 * agents, each running a process that exits at once ({@code /bin/sh -c 'exit 0'}, restartPolicy Never, so the
 * domain completes and its agent releases the grant), with the real operator and supervisors at default timeouts.
 * Measures how many holders per second the disk serves, as a ratio of the baseline (sequential status updates per
 * second) measured in the same run, and where each hold-and-hand-off cycle spends its time. Writes
 * target/bench/contention.md. Run by e2e/bench.sh (see {@link RealSystemBenchmarks}), never as a test.
 */
public final class ContentionBenchmark {
  private static final int DOMAINS = Integer.getInteger("holders", 100);
  private static final String[] NODES = {"a", "b", "c"};

  private ContentionBenchmark() {}

  public static void main(String[] args) throws Exception {
    RealSystemBenchmarks.runAlone('c');
  }

  static String run(LocalSystem system, double[] baseline) {
    KubernetesClient admin = system.admin;
    String path = system.disk("contended.img");
    String lease = LeaseNames.autoName(path);
    HoldTimes times = new HoldTimes();
    try (Watch leaseWatch = admin.resources(DiskLease.class).withName(lease).watch(times.leaseWatcher());
        Watch domainWatch = admin.resources(SupervisedDomain.class).inNamespace(system.apps)
            .watch(times.domainWatcher())) {
      progress("creating " + DOMAINS + " domains on lease " + lease + " (" + path + ")");
      for (int i = 0; i < DOMAINS; i++) {
        SupervisedDomain domain = TestObjects.domain(system.apps, String.format("hold-%03d", i),
            system.node(NODES[i % NODES.length]), system.exclusive("contended.img"));
        domain.getSpec().command = List.of("/bin/sh", "-c", "exit 0");
        domain.getSpec().restartPolicy = RestartPolicy.Never;
        system.create(domain);
      }
      Await.until("all " + DOMAINS + " domains held and released lease " + lease,
          Duration.ofSeconds(60 + DOMAINS * 30L), () -> {
            times.reportProgress();
            return times.released.size() == DOMAINS && times.completed.size() == DOMAINS;
          });
    }
    String report = report(baseline, times);
    progress("deleting the domains");
    for (int i = 0; i < DOMAINS; i++) {
      system.delete(String.format("hold-%03d", i));
    }
    Await.until("all hold-* domains gone", Duration.ofMinutes(5), () -> admin.resources(SupervisedDomain.class)
        .inNamespace(system.apps).list().getItems().stream().noneMatch(d -> d.getMetadata().getName().startsWith("hold-")));
    return report;
  }

  private static String report(double[] baseline, HoldTimes times) {
    List<String> order = times.granted.keySet().stream().sorted(Comparator.comparing(times.granted::get)).toList();
    double[] cycle = new double[order.size() - 1];
    double[] handOff = new double[order.size() - 1];
    for (int i = 1; i < order.size(); i++) {
      cycle[i - 1] = millis(times.granted.get(order.get(i)) - times.granted.get(order.get(i - 1)));
      handOff[i - 1] = millis(times.granted.get(order.get(i)) - times.released.get(order.get(i - 1)));
    }
    double[] toCompleted = order.stream().mapToDouble(d -> millis(times.completed.get(d) - times.granted.get(d)))
        .toArray();
    double[] toReleased = order.stream().mapToDouble(d -> millis(times.released.get(d) - times.completed.get(d)))
        .toArray();
    long first = times.granted.get(order.get(0));
    long last = times.released.values().stream().max(Long::compare).orElseThrow();
    double seconds = (last - first) / 1e9;
    double perSecond = DOMAINS / seconds;
    return "Real kube-apiserver and etcd on loopback, one operator and three agents at default timeouts. " + DOMAINS
        + " domains,\ncreated one after the other round-robin on the three nodes, all name ONE Exclusive disk (so one "
        + "automatic\nDiskLease) and run `/bin/sh -c 'exit 0'` with restartPolicy Never: each is granted in turn (first "
        + "come, first\nserved), its supervisor JVM starts and takes the lock, the process exits at once, the agent "
        + "reports the domain\nCompleted and the grant released, and the operator grants the next waiter in the same "
        + "write. Times are seen\nby watches in the benchmark process: granted and released when the DiskLease's holder "
        + "appears and disappears,\ncompleted when the domain's condition Running=False reason Completed appears. "
        + "Hand-offs per second is N over\nthe time from the first grant to the last release. The goal is ≥ 0.25 of the "
        + "baseline's updates per second.\n\n"
        + Stats.TABLE_HEADER
        + Stats.baselineRow(baseline)
        + Stats.row("one hold and hand-off: grant to the next grant (ms)", cycle, baseline)
        + Stats.row("of which: granted to Completed (supervisor start, run, exit; ms)", toCompleted, baseline)
        + Stats.row("of which: Completed to released (release reported and applied; ms)", toReleased, baseline)
        + Stats.row("of which: released to the next granted (ms)", handOff, baseline)
        + String.format("%n| throughput | value |%n|---|---|%n"
            + "| hand-offs per second (%d holds in %.1f s) | %.2f |%n"
            + "| baseline: sequential status updates per second | %.1f |%n"
            + "| ratio (goal ≥ 0.25) | %.4f |%n"
            + "| most holders seen at once (must be 1) | %d |%n",
            DOMAINS, seconds, perSecond, Stats.perSecond(baseline), perSecond / Stats.perSecond(baseline),
            times.mostHolders.get());
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }

  /** When each domain was granted, completed and released, on this JVM's monotonic clock, as watches see it. */
  private static final class HoldTimes {
    final Map<String, Long> granted = new ConcurrentHashMap<>();
    final Map<String, Long> completed = new ConcurrentHashMap<>();
    final Map<String, Long> released = new ConcurrentHashMap<>();
    final AtomicInteger mostHolders = new AtomicInteger();
    private Set<String> holders = new HashSet<>();
    private int reportedReleases;

    Watcher<DiskLease> leaseWatcher() {
      return new Watcher<>() {
        @Override
        public void eventReceived(Action action, DiskLease lease) {
          long now = System.nanoTime();
          Set<String> current = new HashSet<>();
          if (lease.getStatus() != null) {
            for (LeaseHolder h : lease.getStatus().holders) {
              current.add(h.domain.substring(h.domain.indexOf('/') + 1));
            }
          }
          mostHolders.accumulateAndGet(current.size(), Math::max);
          for (String domain : current) {
            granted.putIfAbsent(domain, now);
          }
          for (String domain : holders) {
            if (!current.contains(domain)) {
              released.putIfAbsent(domain, now);
            }
          }
          holders = current; // watch events arrive one at a time, on one thread
        }

        @Override
        public void onClose(WatcherException cause) {}
      };
    }

    Watcher<SupervisedDomain> domainWatcher() {
      return new Watcher<>() {
        @Override
        public void eventReceived(Action action, SupervisedDomain domain) {
          if (DomainIntent.completed(domain)) {
            completed.putIfAbsent(domain.getMetadata().getName(), System.nanoTime());
          }
        }

        @Override
        public void onClose(WatcherException cause) {}
      };
    }

    void reportProgress() {
      int count = released.size();
      if (count >= reportedReleases + 10) {
        reportedReleases = count;
        progress(count + " of " + DOMAINS + " domains held and released the disk");
      }
    }
  }
}
