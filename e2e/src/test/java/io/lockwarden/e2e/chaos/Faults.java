package io.lockwarden.e2e.chaos;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The chaos driver's faults: injects one at a time, chosen by a seeded random, and heals each after a random while.
 *
 * <p>Fault model (docs/verification.md): any process of a node may crash; an agent may hang or lose the API server
 * for any time; a supervisor may hang only while its node's agent is healthy, and an agent fault is not injected on a
 * node while one of its supervisors hangs. Enforcement needs one of the two running: with both hung, nothing on the
 * node can stop a domain, which is what sanlock's hardware watchdog covers and a process cannot.
 */
final class Faults {
  enum Kind {
    AGENT_KILL, AGENT_STOP, SUPERVISOR_KILL, SUPERVISOR_STOP, OPERATOR_LEADER_KILL, APISERVER_RESTART, ETCD_RESTART,
    PROXY_BLACKHOLE, PROXY_RESET,
    /** kube-apiserver SIGSTOPped for 20 s to 3 min (an eighth of a short run): the API server gone for everyone. */
    APISERVER_OUTAGE,
    /** etcd SIGSTOPped for 5 s to 1 min. */
    ETCD_OUTAGE,
    /** A majority of the agents cut off from the API server at once, the operator not (QUO-1: nobody is fenced). */
    MAJORITY_CUT,
    /** Nobody reaches one agent's peer link: agents that cannot reach each other. */
    PEER_PARTITION;

    /** A fault on one node, rather than on the control plane or the operator. */
    boolean onNode() {
      return this != OPERATOR_LEADER_KILL && !controlPlane() && this != MAJORITY_CUT;
    }

    /** A fault of the API server or etcd: one at a time, since a restart would replace a stopped process. */
    boolean controlPlane() {
      return this == APISERVER_RESTART || this == ETCD_RESTART || this == APISERVER_OUTAGE || this == ETCD_OUTAGE;
    }

    /**
     * Whether a fault of this kind on a node explains a pause or a kill there. Since TIME-4 an outage of the control
     * plane, a majority cut off or the operator's death explain nothing: domains must run on through them. A partition
     * of the peer link explains them anywhere (a node that cannot gather promises pauses during an outage).
     */
    boolean explainsStops() {
      return this == AGENT_KILL || this == AGENT_STOP || this == SUPERVISOR_KILL || this == PROXY_BLACKHOLE
          || this == PROXY_RESET || this == PEER_PARTITION;
    }
  }

  /** Node faults twice as often as cluster-wide ones: a control-plane restart stalls everything for seconds. */
  private static final List<Kind> WEIGHTED = List.of(Kind.AGENT_KILL, Kind.AGENT_KILL, Kind.AGENT_STOP, Kind.AGENT_STOP,
      Kind.SUPERVISOR_KILL, Kind.SUPERVISOR_KILL, Kind.SUPERVISOR_STOP, Kind.SUPERVISOR_STOP, Kind.PROXY_BLACKHOLE,
      Kind.PROXY_BLACKHOLE, Kind.PROXY_RESET, Kind.OPERATOR_LEADER_KILL, Kind.APISERVER_RESTART, Kind.ETCD_RESTART,
      Kind.APISERVER_OUTAGE, Kind.ETCD_OUTAGE, Kind.MAJORITY_CUT, Kind.PEER_PARTITION, Kind.PEER_PARTITION);

  /** A fault now in force, healed at {@code healAt} (System.nanoTime()); node is null for cluster-wide faults. */
  private record Active(Kind kind, String node, long healAt, Runnable heal) {}

  /** When a fault touched a node (or, node null, every node): for telling needed kills from needless ones. */
  record Window(Kind kind, String node, long startMillis, long endMillis) {}

  private final LocalSystem system;
  private final List<String> nodes;
  private final Consumer<String> startAgent;
  private final Map<String, TcpProxy> proxies;
  private final Map<String, TcpProxy> peerProxies;
  private final Map<String, JavaProcess> operators;
  private final ControlPlaneRestarts controlPlane;
  private final Random random;
  private final PrintStream out;
  private final double longestOutageSeconds;
  private final List<Active> active = new ArrayList<>();
  private final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
  private final List<Window> windows = new ArrayList<>();
  private final Map<Active, Long> started = new LinkedHashMap<>();
  private final Map<String, Long> lastAgentFault = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, Integer> exits = new java.util.TreeMap<>();

  /** @param startAgent starts a node's agent (by short name), as its DaemonSet pod would be */
  /** @param peerProxies in front of each node's peer link: what its peers dial to ask it for a promise */
  Faults(LocalSystem system, List<String> nodes, Consumer<String> startAgent, Map<String, TcpProxy> proxies,
      Map<String, TcpProxy> peerProxies, Map<String, JavaProcess> operators, ControlPlaneRestarts controlPlane,
      Random random, PrintStream out, java.time.Duration runLength) {
    this.system = system;
    this.nodes = nodes;
    this.startAgent = startAgent;
    this.proxies = proxies;
    this.peerProxies = peerProxies;
    this.operators = operators;
    this.controlPlane = controlPlane;
    this.random = random;
    this.out = out;
    // 20 s to 3 min, but at most an eighth of the run: a short run must still do more than wait out one outage.
    this.longestOutageSeconds = Math.max(20, Math.min(180, runLength.toSeconds() / 8.0));
    for (Kind k : Kind.values()) {
      counts.put(k, 0);
    }
  }

  /** Injects one random fault that the model allows now; returns what it did, or null if none was possible. */
  String injectOne() {
    Kind kind = WEIGHTED.get(random.nextInt(WEIGHTED.size()));
    String node = nodes.get(random.nextInt(nodes.size()));
    String what = switch (kind) {
      case AGENT_KILL -> agentFault(node, kind, () -> {
        system.agent(node).kill();
        return () -> startAgent.accept(node);
      }, seconds(1, 12));
      case AGENT_STOP -> agentFault(node, kind, () -> {
        system.agent(node).freeze();
        return () -> system.agent(node).thaw();
      }, seconds(1, 15));
      case PROXY_BLACKHOLE -> agentFault(node, kind, () -> {
        proxies.get(node).mode(TcpProxy.Mode.BLACKHOLE);
        return () -> proxies.get(node).mode(TcpProxy.Mode.PASS);
      }, seconds(2, 15));
      case PROXY_RESET -> agentFault(node, kind, () -> {
        proxies.get(node).mode(TcpProxy.Mode.RESET);
        return () -> proxies.get(node).mode(TcpProxy.Mode.PASS);
      }, seconds(1, 4));
      case SUPERVISOR_KILL -> supervisor(node).map(pid -> {
        Signals.send("KILL", pid);
        record(new Active(kind, node, System.nanoTime(), () -> {}));
        return "SIGKILL supervisor " + pid;
      }).orElse(null);
      case SUPERVISOR_STOP -> busy(node) ? null : supervisor(node).map(pid -> {
        Signals.send("STOP", pid);
        record(new Active(kind, node, System.nanoTime() + seconds(0.5, 3), () -> Signals.send("CONT", pid)));
        return "SIGSTOP supervisor " + pid;
      }).orElse(null);
      case OPERATOR_LEADER_KILL -> killLeader();
      case PEER_PARTITION -> agentFault(node, kind, () -> {
        peerProxies.get(node).mode(TcpProxy.Mode.BLACKHOLE);
        return () -> peerProxies.get(node).mode(TcpProxy.Mode.PASS);
      }, seconds(5, 30));
      case MAJORITY_CUT -> majorityCut();
      case APISERVER_OUTAGE, ETCD_OUTAGE -> {
        if (controlPlaneBusy()) {
          yield null;
        }
        boolean etcd = kind == Kind.ETCD_OUTAGE;
        long pid = controlPlane.stop(etcd);
        long length = etcd ? seconds(5, Math.min(60, longestOutageSeconds)) : seconds(20, longestOutageSeconds);
        record(new Active(kind, null, System.nanoTime() + length, () -> Signals.send("CONT", pid)));
        yield (etcd ? "etcd" : "kube-apiserver") + " SIGSTOP for " + length / 1_000_000 + " ms";
      }
      case APISERVER_RESTART -> {
        if (controlPlaneBusy()) {
          yield null;
        }
        controlPlane.restartApiServer();
        record(new Active(kind, null, System.nanoTime(), () -> {}));
        yield "kube-apiserver SIGKILL and start";
      }
      case ETCD_RESTART -> {
        if (controlPlaneBusy()) {
          yield null;
        }
        controlPlane.restartEtcd();
        record(new Active(kind, null, System.nanoTime(), () -> {}));
        yield "etcd SIGKILL and start";
      }
    };
    if (what != null) {
      counts.merge(kind, 1, Integer::sum);
      out.printf("[chaos] fault %s %s%s%n", kind, kind.onNode() ? node + " " : "", what);
    }
    return what;
  }

  /**
   * Heals every fault whose time has come (all of them if {@code all}), then restarts any component that exited with
   * no fault injected on it, as kubelet would restart a pod: an operator exits by design when it loses leadership (an
   * API-server or etcd restart can cause that). A heal that fails (an agent that cannot start while the API server is
   * down) stays in force and is tried again next time.
   */
  void heal(boolean all) {
    long now = System.nanoTime();
    for (Active a : List.copyOf(active)) {
      if (all || now >= a.healAt()) {
        try {
          a.heal().run();
        } catch (RuntimeException e) {
          out.printf("[chaos] healing %s %s failed, trying again: %s%n", a.kind(), a.node() == null ? "" : a.node(),
              e.getMessage());
          continue;
        }
        active.remove(a);
        windows.add(new Window(a.kind(), a.node(), started.remove(a), System.currentTimeMillis()));
      }
    }
    restartExited();
  }

  /** Whether every fault has been healed. */
  boolean healed() {
    return active.isEmpty();
  }

  /** Components that exited with no fault injected on them, by name: operators, or agents by node. */
  Map<String, Integer> exits() {
    return exits;
  }

  private void restartExited() {
    for (String node : nodes) {
      JavaProcess agent = system.agent(node);
      if (!agent.isAlive() && active.stream().noneMatch(a -> a.kind() == Kind.AGENT_KILL && node.equals(a.node()))) {
        restart(system.node(node), () -> startAgent.accept(node));
      }
    }
    for (String name : List.copyOf(operators.keySet())) {
      if (!operators.get(name).isAlive() && active.stream().noneMatch(a -> a.kind() == Kind.OPERATOR_LEADER_KILL)) {
        restart(name, () -> operators.put(name, system.startOperator(name)));
      }
    }
  }

  private void restart(String name, Runnable start) {
    try {
      start.run();
      exits.merge(name, 1, Integer::sum);
      out.printf("[chaos] %s had exited on its own: restarted%n", name);
    } catch (RuntimeException e) {
      out.printf("[chaos] %s had exited on its own; restarting it failed, trying again: %s%n", name, e.getMessage());
    }
  }

  Map<Kind, Integer> counts() {
    return counts;
  }

  List<Window> windows() {
    return windows;
  }

  /**
   * How long the API server or etcd was out, in ms (the union of their outages' windows): the driver's own calls wait
   * for the control plane meanwhile, so no operation or fault of its own happens then.
   */
  static long controlPlaneOutageMillis(List<Window> windows) {
    List<Window> outages = windows.stream()
        .filter(w -> w.kind() == Kind.APISERVER_OUTAGE || w.kind() == Kind.ETCD_OUTAGE)
        .sorted(java.util.Comparator.comparingLong(Window::startMillis)).toList();
    long total = 0;
    long coveredTo = Long.MIN_VALUE;
    for (Window w : outages) {
      long from = Math.max(w.startMillis(), coveredTo);
      if (w.endMillis() > from) {
        total += w.endMillis() - from;
      }
      coveredTo = Math.max(coveredTo, w.endMillis());
    }
    return total;
  }

  /** Node name to when its last agent-level fault began: where a fail-over time starts. */
  Map<String, Long> lastAgentFault() {
    return lastAgentFault;
  }

  private interface Injection {
    Runnable inject();
  }

  /** An agent-level fault (the agent or its way to the API server), at most one per node, never on a hung node. */
  private String agentFault(String node, Kind kind, Injection injection, long forNanos) {
    if (busy(node)) {
      return null;
    }
    Runnable heal = injection.inject();
    record(new Active(kind, node, System.nanoTime() + forNanos, heal));
    lastAgentFault.put(system.node(node), System.currentTimeMillis());
    return "for " + forNanos / 1_000_000 + " ms";
  }

  private boolean controlPlaneBusy() {
    return active.stream().anyMatch(a -> a.kind().controlPlane());
  }

  /** A strict majority of the agents, none of them busy, cut off from the API server together. */
  private String majorityCut() {
    List<String> free = new ArrayList<>(nodes.stream().filter(n -> !busy(n)).toList());
    int majority = nodes.size() / 2 + 1;
    if (free.size() < majority) {
      return null;
    }
    java.util.Collections.shuffle(free, random);
    List<String> cut = free.subList(0, majority);
    long healAt = System.nanoTime() + seconds(10, 40);
    for (String node : cut) {
      proxies.get(node).mode(TcpProxy.Mode.BLACKHOLE);
      record(new Active(Kind.MAJORITY_CUT, node, healAt, () -> proxies.get(node).mode(TcpProxy.Mode.PASS)));
    }
    return "agents " + cut + " cut off from the API server for " + (healAt - System.nanoTime()) / 1_000_000 + " ms";
  }

  private boolean busy(String node) {
    return active.stream().anyMatch(a -> node.equals(a.node()) && a.kind() != Kind.SUPERVISOR_KILL);
  }

  private void record(Active a) {
    active.add(a);
    started.put(a, System.currentTimeMillis());
  }

  /** A random supervisor now running under {@code node}'s agent, by its state file. */
  private java.util.Optional<Long> supervisor(String node) {
    List<Long> pids = new ArrayList<>();
    Path domains = system.runDir(node).resolve("domains");
    if (Files.isDirectory(domains)) {
      try (Stream<Path> dirs = Files.list(domains)) {
        for (Path dir : dirs.toList()) {
          SupervisorState s = system.supervisorState(node, dir.getFileName().toString());
          if (s != null && s.supervisorPid > 0 && Signals.alive(s.supervisorPid)) {
            pids.add(s.supervisorPid);
          }
        }
      } catch (IOException e) {
        return java.util.Optional.empty();
      }
    }
    return pids.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(pids.get(random.nextInt(pids.size())));
  }

  private String killLeader() {
    Lease lease;
    try {
      lease = system.admin.leases().inNamespace(system.system).withName("lockwarden-operator-leader").get();
    } catch (RuntimeException e) {
      return null; // the API server is down: another round
    }
    String holder = lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    String name = operators.keySet().stream().filter(n -> (system.prefix + "-" + n).equals(holder)).findFirst()
        .orElse(null);
    if (name == null || !operators.get(name).isAlive()) {
      return null;
    }
    operators.get(name).kill();
    record(new Active(Kind.OPERATOR_LEADER_KILL, null, System.nanoTime() + seconds(2, 8),
        () -> operators.put(name, system.startOperator(name))));
    return "SIGKILL leader " + holder;
  }

  private long seconds(double min, double max) {
    return (long) ((min + random.nextDouble() * (max - min)) * 1e9);
  }
}
