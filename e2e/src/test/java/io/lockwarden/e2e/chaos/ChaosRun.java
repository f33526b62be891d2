package io.lockwarden.e2e.chaos;

import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The chaos run: three agents (each through its own TCP proxy to the API server) and two operator replicas with
 * leader election on a real control plane; random faults and user operations, deterministic by seed, for N
 * minutes; then every fault healed, a settling time, and the split-brain check over every disk and every DiskLease
 * version seen. Run by ChaosIT: a short fixed-seed run in `mvn verify`, longer ones through e2e/chaos.sh.
 *
 * <p>The seed fixes the sequence of choices, not the timing: two runs with one seed inject the same kinds in the
 * same order, but what each finds (which supervisor, which domain) depends on the moment.
 */
public final class ChaosRun {
  static final List<String> NODES = List.of("a", "b", "c");
  static final int MAX_DOMAINS = 6;
  /** One step (a fault or an operation, and healing) every this long. */
  private static final Duration STEP = Duration.ofMillis(1500);

  /** What the run found. {@code text} is the summary as printed. */
  public record Result(SplitBrainChecker.Report report, int faults, int needlessKills, int kills, int needlessPauses,
      int pauses, long controlPlaneOutageMillis, String text) {}

  private ChaosRun() {}

  /**
   * @param operatorOverrides environment for the operators on top of the fencing timeouts; empty but for the negative
   *     control, which breaks TIME-2 on purpose to show that the checker then finds two writers
   * @param agentOverrides environment for the agents on top of the fencing timeouts; empty but for the negative
   *     control, whose agents must renew although the operators' timing breaks TIME-2 (they refuse to otherwise)
   */
  public static Result run(ControlPlane controlPlane, Duration length, long seed, Map<String, String> operatorOverrides,
      Map<String, String> agentOverrides, PrintStream out) throws IOException {
    long startMillis = System.currentTimeMillis();
    Random random = new Random(seed);
    Map<String, String> operatorEnv = new HashMap<>(LocalSystem.FENCING_OPERATOR);
    operatorEnv.put("LOCKWARDEN_LEADER_ELECTION", "true");
    operatorEnv.putAll(operatorOverrides);
    Map<String, String> agentEnv = new HashMap<>(LocalSystem.FENCING_AGENT);
    agentEnv.putAll(agentOverrides);
    Map<String, TcpProxy> proxies = new LinkedHashMap<>();
    Map<String, TcpProxy> peerProxies = new LinkedHashMap<>();
    Map<String, JavaProcess> operators = new LinkedHashMap<>();
    URI api = URI.create(controlPlane.admin().getMasterUrl().toString());
    try (LocalSystem system = LocalSystem.start(controlPlane, "chaos", operatorEnv, agentEnv);
        ControlPlaneRestarts restarts = new ControlPlaneRestarts(controlPlane, system.base.resolve("control-plane"));
        LeaseHistory history = LeaseHistory.record(controlPlane.admin(), system.base.resolve("lease-history.jsonl"))) {
      operators.put("operator", system.operator());
      operators.put("operator-2", system.startOperator("operator-2"));
      Map<String, Path> kubeconfigs = new HashMap<>();
      Map<String, Map<String, String>> peerEnv = new HashMap<>();
      for (String node : NODES) {
        // The peer link behind a proxy too, so that agents can be cut off from each other (PEER_PARTITION): it
        // listens on a fixed port, kept across agent restarts, and advertises the proxy's.
        int listen;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
          listen = free.getLocalPort();
        }
        TcpProxy peerProxy = new TcpProxy("127.0.0.1", listen);
        peerProxies.put(node, peerProxy);
        peerEnv.put(node, Map.of("LOCKWARDEN_PEER_LISTEN", "127.0.0.1:" + listen, "LOCKWARDEN_PEER_ADDRESS",
            "127.0.0.1:" + peerProxy.port()));
        TcpProxy proxy = new TcpProxy(api.getHost(), api.getPort());
        proxies.put(node, proxy);
        kubeconfigs.put(node, system.kubeconfigThrough(node, proxy.port()));
        Files.createDirectories(system.base.resolve("lockspace-" + node));
      }
      // Each node locks in a lockspace of its own, as on storage whose locks do not reach other hosts: then no local
      // lock stands between two nodes' writers, and only the leases, the deadlines and the hand-off keep them apart.
      Consumer<String> startAgent = node -> {
        Map<String, String> env = new HashMap<>(peerEnv.get(node));
        env.put("LOCKWARDEN_LOCKSPACE_DIR", system.base.resolve("lockspace-" + node).toString());
        system.startAgent(node, kubeconfigs.get(node), env);
      };
      NODES.forEach(startAgent);
      system.awaitNodesAlive(NODES.size());
      out.printf("[chaos] seed %d, %s, %d agents through proxies with a lockspace each, 2 operator replicas, up to %d "
          + "domains%s%n", seed, length, NODES.size(), MAX_DOMAINS,
          operatorOverrides.isEmpty() ? "" : "; NEGATIVE CONTROL, operators with " + operatorOverrides
              + ", agents with " + agentOverrides);

      Faults faults = new Faults(system, NODES, startAgent, proxies, peerProxies, operators, restarts, random, out,
          length);
      Workloads workloads = new Workloads(system, NODES, MAX_DOMAINS, random, out);
      Observer observer = new Observer(system, workloads);
      long end = System.nanoTime() + length.toNanos();
      long nextProgress = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (System.nanoTime() < end) {
        faults.heal(false);
        if (random.nextInt(3) == 0) {
          faults.injectOne();
        } else {
          workloads.doOne();
        }
        observer.look(faults.lastAgentFault());
        if (System.nanoTime() > nextProgress) {
          nextProgress += TimeUnit.MINUTES.toNanos(1);
          out.printf("[chaos] %d s: faults %s; %s%n", (System.currentTimeMillis() - startMillis) / 1000,
              faults.counts(), observer.summary());
        }
        pause(STEP);
      }

      out.println("[chaos] healing every fault and letting the system settle");
      Await.until("every fault healed", Duration.ofMinutes(2), () -> {
        faults.heal(true);
        return faults.healed();
      });
      Await.until(NODES.size() + " nodes alive", LocalSystem.WAIT, () -> {
        faults.heal(true); // an operator that exits now is restarted too
        return operators.values().stream().filter(JavaProcess::isAlive)
            .anyMatch(p -> p.get("/metrics").contains("lockwarden_nodes_alive " + NODES.size()));
      });
      settle(system, observer, faults);

      List<Path> diskFiles;
      try (Stream<Path> files = Files.list(system.disks)) {
        diskFiles = files.filter(f -> f.getFileName().toString().endsWith(".img")).sorted().toList();
      }
      history.close();
      SplitBrainChecker.Report report = SplitBrainChecker.check(diskFiles, LeaseHistory.load(history.file()));
      List<Kills.Kill> kills = new ArrayList<>();
      List<Kills.Kill> pauses = new ArrayList<>();
      for (String node : NODES) {
        Path log = Path.of("target", "process-logs", system.node(node) + ".log");
        if (Files.exists(log)) {
          kills.addAll(Kills.parse(Files.readString(log), startMillis));
          pauses.addAll(Kills.parsePauses(Files.readString(log), startMillis));
        }
      }
      List<Kills.Kill> needless = Kills.needless(kills, faults.windows(), system::node);
      List<Kills.Kill> needlessPauses = Kills.needless(pauses, faults.windows(), system::node);
      int faultCount = faults.counts().values().stream().mapToInt(Integer::intValue).sum();
      long outageMillis = Faults.controlPlaneOutageMillis(faults.windows());
      String text = String.join("\n",
          "chaos run: seed " + seed + ", " + length.toMinutes() + " min (" + length.toSeconds() + " s), started "
              + Instant.ofEpochMilli(startMillis)
              + (operatorOverrides.isEmpty() ? "" : "; negative control, operators with " + operatorOverrides
                  + ", agents with " + agentOverrides),
          "faults: " + faultCount + " " + faults.counts(),
          "control plane out (API server or etcd stopped): " + outageMillis / 1000 + " s in all",
          "operations: " + workloads.summary(),
          "grants: " + report.grants() + "; " + observer.summary(),
          "kills by an agent: " + kills.size() + ", needless: " + needless.size()
              + (needless.isEmpty() ? "" : " " + needless.stream().limit(5).toList()),
          "pauses: " + pauses.size() + ", needless: " + needlessPauses.size()
              + (needlessPauses.isEmpty() ? "" : " " + needlessPauses.stream().limit(5).toList()),
          "exited on their own and restarted: " + (faults.exits().isEmpty() ? "none" : faults.exits()),
          "proxies: " + proxies.values().stream().map(TcpProxy::summary).toList(),
          "peer proxies: " + peerProxies.values().stream().map(TcpProxy::summary).toList(),
          report.summary(),
          "violations: " + report.violations().size());
      out.println(text);
      return new Result(report, faultCount, needless.size(), kills.size(), needlessPauses.size(), pauses.size(),
          outageMillis, text);
    } finally {
      operators.values().forEach(JavaProcess::close);
      proxies.values().forEach(TcpProxy::close);
      peerProxies.values().forEach(TcpProxy::close);
    }
  }

  /** After the faults: every domain that wants to run runs somewhere, or two minutes pass (then it is reported). */
  private static void settle(LocalSystem system, Observer observer, Faults faults) {
    try {
      Await.until("every domain settled after the faults", Duration.ofMinutes(2), () -> {
        faults.heal(true);
        observer.look(faults.lastAgentFault());
        List<SupervisedDomain> domains = system.admin.resources(SupervisedDomain.class).inNamespace(system.apps)
            .list().getItems();
        return domains.stream().allMatch(d -> d.getMetadata().getDeletionTimestamp() == null
            && (Boolean.FALSE.equals(d.getSpec().running) || d.getStatus() != null
            && d.getStatus().phase == io.lockwarden.api.v1alpha1.DomainPhase.Running));
      });
    } catch (AssertionError | RuntimeException e) {
      System.out.println("[chaos] not every domain settled: " + e.getMessage());
    }
    pause(Duration.ofSeconds(5)); // the workloads write a few more records under their final grants
  }

  private static void pause(Duration d) {
    try {
      Thread.sleep(d.toMillis()); // pacing of the driver, not synchronisation: nothing waits on this
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
