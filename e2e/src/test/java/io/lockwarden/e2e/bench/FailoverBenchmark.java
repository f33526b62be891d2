package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.Stats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Item (e) of the suite, fail-over at DEFAULT timeouts (the components' own defaults: agents renew every 2 s,
 * fenceTimeout 6 s, pauseTimeout 30 s; the operator's nodeTimeout 10 s + grace 2 s), with the real operator, real
 * agents and real supervisors. One domain ({@code /bin/sleep}, one Exclusive disk) with {@code failover: Automatic}
 * and candidates node a then node b runs on a; then one of three faults hits node a:
 * <ol>
 *   <li>node death: its agent, the domain's supervisor and the domain SIGKILLed together, as a power-off would;
 *   <li>node cut off from the API server (its agent SIGSTOPped), the domain with {@code onLeaseLoss: Pause};
 *   <li>the same, with {@code onLeaseLoss: Kill}.
 * </ol>
 * Each part is measured from the fault: the old copy paused or killed (its /proc state, sampled every 5 ms), node a
 * declared dead (a watch sees the operator's fence mark on node a's Lease, written just before its grants are revoked),
 * the grant moved to b (a watch sees b as the DiskLease's holder), and the total: the domain Running on b with a pid (a
 * watch on the domain). Writes target/bench/failover.md. Run by e2e/bench.sh (see {@link RealSystemBenchmarks}), never as a
 * test.
 */
public final class FailoverBenchmark {
  private static final int REPETITIONS = Integer.getInteger("repetitions", 3);
  /** Domains on the node that dies in the storm case (issue #16: 30). */
  private static final int STORM = Integer.getInteger("storm", 30);
  /** Long enough for the slowest case: the paused copy is killed only after pauseTimeout (30 s past its deadline). */
  private static final Duration FAILOVER_WAIT = Duration.ofSeconds(120);

  static final String STOPPED = "old copy paused or killed";
  static final String KILLED = "old copy killed";
  static final String DEAD = "node declared dead (fence mark)";
  static final String MOVED = "grant moved to the other node";
  static final String RUNNING = "running on the other node (total)";

  /** The three faults, what the domain does on lease loss, and how node a is brought back afterwards. */
  enum Fault {
    NODE_DEATH("(1) node death: agent, supervisor and domain SIGKILLed", LeaseLossAction.Pause),
    CUT_OFF_PAUSE("(2) node cut off (agent SIGSTOPped), onLeaseLoss Pause", LeaseLossAction.Pause),
    CUT_OFF_KILL("(3) node cut off (agent SIGSTOPped), onLeaseLoss Kill", LeaseLossAction.Kill);

    final String label;
    final LeaseLossAction onLeaseLoss;

    Fault(String label, LeaseLossAction onLeaseLoss) {
      this.label = label;
      this.onLeaseLoss = onLeaseLoss;
    }
  }

  private FailoverBenchmark() {}

  public static void main(String[] args) throws Exception {
    RealSystemBenchmarks.runAlone('e');
  }

  static String run(LocalSystem system, double[] baseline) {
    Map<Fault, List<Map<String, Double>>> results = new LinkedHashMap<>();
    for (int rep = 0; rep < REPETITIONS; rep++) {
      for (Fault fault : Fault.values()) {
        Map<String, Double> parts = failOver(system, fault, rep);
        results.computeIfAbsent(fault, f -> new ArrayList<>()).add(parts);
        StringBuilder line = new StringBuilder(fault.label + ", repetition " + (rep + 1) + " of " + REPETITIONS + ":");
        parts.forEach((part, ms) -> line.append(ms == null ? "" : String.format(" %s %.0f ms;", part, ms)));
        progress(line.toString());
      }
    }
    double[] storm = storm(system);
    return report(baseline, results, storm);
  }

  /**
   * (4) A fail-over storm: {@link #STORM} domains run on node a (candidates a, b, c, {@code failover: Automatic}),
   * then node a dies: its agent, every supervisor and every domain SIGKILLed together. Returns, for each domain, ms
   * from the fault to the domain Running elsewhere with a pid (a watch on the domains).
   */
  private static double[] storm(LocalSystem system) {
    KubernetesClient admin = system.admin;
    List<String> names = new ArrayList<>();
    for (int i = 0; i < STORM; i++) {
      String name = String.format("storm-%02d", i);
      SupervisedDomain domain = TestObjects.domain(system.apps, name, null, system.exclusive(name + ".img"));
      domain.getSpec().placement.nodes = List.of(system.node("a"), system.node("b"), system.node("c"));
      domain.getSpec().placement.failover = FailoverPolicy.Automatic;
      system.create(domain);
      names.add(name);
    }
    List<SupervisedDomain> onA = new ArrayList<>();
    for (String name : names) {
      onA.add(system.awaitRunning(name, "a"));
    }
    progress("(4) fail-over storm: " + STORM + " domains run on " + system.node("a") + "; powering it off");
    String nodeA = system.node("a");
    Map<String, Long> runningAt = new java.util.concurrent.ConcurrentHashMap<>();
    Map<String, String> runningOn = new java.util.concurrent.ConcurrentHashMap<>();
    long faultAt;
    try (Watch watch = admin.resources(SupervisedDomain.class).inNamespace(system.apps).watch(watcher(d -> {
      if (d.getStatus() != null && d.getStatus().node != null && !nodeA.equals(d.getStatus().node)
          && d.getStatus().phase == DomainPhase.Running && d.getStatus().pid != null) {
        runningAt.putIfAbsent(d.getMetadata().getName(), System.nanoTime());
        runningOn.putIfAbsent(d.getMetadata().getName(), d.getStatus().node);
      }
    }))) {
      faultAt = System.nanoTime();
      system.agent("a").kill();
      for (SupervisedDomain d : onA) {
        Signals.send("KILL", d.getStatus().supervisorPid);
        Signals.send("KILL", d.getStatus().pid);
      }
      io.lockwarden.testing.Await.until("all " + STORM + " storm domains running elsewhere", Duration.ofMinutes(5),
          () -> runningAt.size() == STORM);
    }
    double[] values = runningAt.values().stream().mapToDouble(at -> (at - faultAt) / 1e6).sorted().toArray();
    Map<String, Long> perNode = new java.util.TreeMap<>();
    runningOn.values().forEach(node -> perNode.merge(node, 1L, Long::sum));
    progress(String.format("(4) fail-over storm: all %d running elsewhere %.1f s after the fault (first %.1f s); %s",
        STORM, values[values.length - 1] / 1000, values[0] / 1000, perNode));
    system.startAgent("a");
    system.awaitNodesAlive(3);
    names.forEach(system::delete);
    names.forEach(system::awaitGone);
    return values;
  }

  /** One fault on node a; returns each part in ms from the fault. Leaves node a alive again and the domain gone. */
  private static Map<String, Double> failOver(LocalSystem system, Fault fault, int rep) {
    KubernetesClient admin = system.admin;
    String name = "vm-" + fault.name().toLowerCase().replace('_', '-') + "-" + rep;
    String file = name + ".img";
    SupervisedDomain domain = TestObjects.domain(system.apps, name, null, system.exclusive(file));
    domain.getSpec().placement.nodes = List.of(system.node("a"), system.node("b"));
    domain.getSpec().placement.failover = FailoverPolicy.Automatic;
    domain.getSpec().onLeaseLoss = fault.onLeaseLoss;
    system.create(domain);
    SupervisedDomain onA = system.awaitRunning(name, "a");
    long pid = onA.getStatus().pid;
    String nodeA = system.node("a");
    String nodeB = system.node("b");
    String lease = LeaseNames.autoName(system.disks.resolve(file).toString());
    String fenceMarkBefore = fenceMark(admin.leases().inNamespace(system.system).withName(NodeLeases.name(nodeA)).get());
    progress(fault.label + ": domain " + system.key(name) + " runs on " + nodeA + " (pid " + pid + "), lease " + lease
        + " epoch " + system.holders(file).get(0).epoch + "; injecting the fault");

    Map<String, Double> parts = new LinkedHashMap<>();
    try (Milestones milestones = new Milestones();
        Watch nodeLease = admin.leases().inNamespace(system.system).withName(NodeLeases.name(nodeA)).watch(
            watcher(l -> {
              String mark = fenceMark(l);
              if (mark != null && !mark.equals(fenceMarkBefore)) {
                milestones.mark(DEAD);
              }
            }));
        Watch diskLease = admin.resources(DiskLease.class).withName(lease).watch(watcher(l -> {
          if (l.getStatus() != null && l.getStatus().holders.stream().anyMatch(h -> nodeB.equals(h.node))) {
            milestones.mark(MOVED);
          }
        }));
        Watch domainWatch = admin.resources(SupervisedDomain.class).inNamespace(system.apps).withName(name).watch(
            watcher(d -> {
              if (d.getStatus() != null && nodeB.equals(d.getStatus().node) && d.getStatus().phase == DomainPhase.Running
                  && d.getStatus().pid != null) {
                milestones.mark(RUNNING);
              }
            }))) {
      // The milestones' clock starts before the watches are opened; the fault's own moment is its zero.
      double faultAt = inject(system, fault, onA, milestones);
      milestones.sample(STOPPED, () -> !Signals.alive(pid) || Signals.stopped(pid));
      milestones.sample(KILLED, () -> !Signals.alive(pid));
      milestones.await(RUNNING, FAILOVER_WAIT);
      milestones.await(KILLED, FAILOVER_WAIT);
      for (String part : List.of(STOPPED, KILLED, DEAD, MOVED, RUNNING)) {
        Double at = milestones.millis(part);
        parts.put(part, at == null ? null : at - faultAt);
      }
    }
    recover(system, fault);
    system.delete(name);
    system.awaitGone(name);
    return parts;
  }

  /** Injects the fault now and returns its moment on the milestones' clock. */
  private static double inject(LocalSystem system, Fault fault, SupervisedDomain onA, Milestones milestones) {
    milestones.mark("fault");
    if (fault == Fault.NODE_DEATH) {
      system.powerOff("a", onA);
    } else {
      system.agent("a").freeze();
    }
    return milestones.millis("fault");
  }

  /** Node a back: a fresh agent after a power-off; a thawed one after a cut-off (it acts on the fence mark). */
  private static void recover(LocalSystem system, Fault fault) {
    if (fault == Fault.NODE_DEATH) {
      system.startAgent("a");
    } else {
      system.agent("a").thaw();
    }
    system.awaitNodesAlive(3);
  }

  private static String fenceMark(Lease lease) {
    return lease == null || lease.getMetadata().getAnnotations() == null ? null
        : lease.getMetadata().getAnnotations().get(NodeLeases.FENCED_ANNOTATION);
  }

  private static <T> Watcher<T> watcher(Consumer<T> onEvent) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        onEvent.accept(resource);
      }

      @Override
      public void onClose(WatcherException cause) {}
    };
  }

  private static String report(double[] baseline, Map<Fault, List<Map<String, Double>>> results, double[] storm) {
    StringBuilder md = new StringBuilder();
    md.append("Real kube-apiserver and etcd on loopback, one operator and three agents (a, b, c), every timeout at its "
        + "default:\nagents renew every 2 s, fenceTimeout 6 s, pauseTimeout 30 s; the operator's nodeTimeout 10 s + "
        + "grace 2 s. One domain\n(`/bin/sleep`, one Exclusive disk, `failover: Automatic`, candidates a then b) runs "
        + "on a when the fault hits a. Every\npart is in ms from the fault: the old copy paused or killed (its state in "
        + "/proc, sampled every 5 ms), node a\ndeclared dead (a watch sees the operator's fence mark on a's Lease, "
        + "written just before it revokes a's grants),\nthe grant moved to b (a watch sees b hold the DiskLease), and "
        + "the total: the domain Running on b with a pid.\nIn case (2) the paused copy keeps its local lock until "
        + "pauseTimeout kills it, and b's supervisor waits for that\nlock (both nodes share one disk directory, as "
        + "shared storage would be). The goal is ≤ 15 s for (1) and (3).\n\n"
        + "(4), the fail-over storm: " + STORM + " domains (candidates a, b, c) run on a when a dies (its agent, every "
        + "supervisor\nand every domain SIGKILLed together); each row value is one domain, from the fault to it Running "
        + "elsewhere.\nThe goal is all " + STORM + " within 20 s.\n\n");
    md.append(Stats.TABLE_HEADER);
    md.append(Stats.baselineRow(baseline));
    for (var entry : results.entrySet()) {
      for (String part : List.of(STOPPED, KILLED, DEAD, MOVED, RUNNING)) {
        if (entry.getKey() == Fault.CUT_OFF_KILL && part.equals(KILLED)
            || entry.getKey() == Fault.NODE_DEATH && part.equals(KILLED)) {
          continue; // the same moment as "paused or killed" in these cases
        }
        double[] values = entry.getValue().stream().map(p -> p.get(part)).filter(Objects::nonNull)
            .mapToDouble(Double::doubleValue).toArray();
        if (values.length > 0) {
          md.append(Stats.row(entry.getKey().label + ": " + part + " (ms)", values, baseline));
        }
      }
    }
    md.append(Stats.row("(4) fail-over storm, " + STORM + " domains: each running elsewhere (ms)", storm, baseline));
    return md.toString();
  }
}
