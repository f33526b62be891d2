package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.ProcessReadings;
import io.lockwarden.testing.bench.Stats;
import io.lockwarden.agent.supervisor.SupervisorState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The node agent's numbers (issue #4), with the real operator, three real agents and real supervisors at default
 * timeouts, beside a baseline measured in the same run (one optimistic-concurrency status update):
 * <ul>
 *   <li>create to process running, for N domains (one Exclusive disk each, {@code /bin/sleep}) created at a steady
 *       rate;
 *   <li>supervisor RSS over those N; agent RSS and idle CPU with N/3 domains each;
 *   <li>how long after its agent is stopped (SIGSTOP) a domain is paused, several times.
 * </ul>
 * Writes Markdown to target/bench/agent.md. Run by e2e/bench-agent.sh and e2e/bench.sh, never as a test.
 */
public final class AgentBenchmark {
  private static final int DOMAINS = Integer.getInteger("domains", 100);
  private static final double RATE = Double.parseDouble(System.getProperty("rate", "2"));
  private static final int PAUSES = Integer.getInteger("pauses", 3);
  private static final int IDLE_SECONDS = Integer.getInteger("idleSeconds", 20);

  private AgentBenchmark() {}

  public static void main(String[] args) throws Exception {
    RealSystemBenchmarks.runAlone('g');
  }

  static String run(LocalSystem system, double[] baseline) throws Exception {
    KubernetesClient admin = system.admin;
    Map<String, Long> createdAt = new ConcurrentHashMap<>();
    Map<String, Long> runningAt = new ConcurrentHashMap<>();
    Watch watch = admin.resources(SupervisedDomain.class).inNamespace(system.apps).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, SupervisedDomain d) {
        if (d.getStatus() != null && d.getStatus().phase == DomainPhase.Running && d.getStatus().pid != null) {
          runningAt.putIfAbsent(d.getMetadata().getName(), System.nanoTime());
        }
      }

      @Override
      public void onClose(WatcherException cause) {}
    });
    String[] nodes = {"a", "b", "c"};
    long intervalNanos = (long) (1e9 / RATE);
    long next = System.nanoTime();
    for (int i = 0; i < DOMAINS; i++) {
      String name = String.format("vm-%04d", i);
      SupervisedDomain domain = TestObjects.domain(system.apps, name, system.node(nodes[i % 3]),
          system.exclusive(name + ".img"));
      while (System.nanoTime() < next) {
        Thread.onSpinWait();
      }
      createdAt.put(name, System.nanoTime());
      admin.resource(domain).create();
      next += intervalNanos;
      if (i % 20 == 19) {
        progress("created " + (i + 1) + " of " + DOMAINS + "; running: " + runningAt.size());
      }
    }
    Await.until("all " + DOMAINS + " domains running", Duration.ofMinutes(10), () -> runningAt.size() == DOMAINS);
    watch.close();
    double[] toRunning = createdAt.keySet().stream()
        .mapToDouble(n -> (runningAt.get(n) - createdAt.get(n)) / 1e6).sorted().toArray();

    progress("measuring memory and idle CPU");
    List<Long> supervisorPids = new ArrayList<>();
    for (SupervisedDomain d : admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems()) {
      supervisorPids.add(d.getStatus().supervisorPid);
    }
    double[] supervisorRss = supervisorPids.stream().mapToDouble(ProcessReadings::rssMiB).sorted().toArray();
    double[] supervisorPss = supervisorPids.stream().mapToDouble(ProcessReadings::pssMiB).sorted().toArray();
    double[] decideToExec = decideToExec(system);
    JavaProcess agentA = system.agent("a");
    double agentRss = ProcessReadings.rssMiB(agentA.pid());
    long ticksBefore = ProcessReadings.cpuTicks(agentA.pid());
    long wallBefore = System.nanoTime();
    Thread.sleep(IDLE_SECONDS * 1000L); // a measurement window, not synchronisation
    double idleCpu = (ProcessReadings.cpuTicks(agentA.pid()) - ticksBefore) / 100.0
        / ((System.nanoTime() - wallBefore) / 1e9);

    progress("SIGSTOP of an agent until its domain is paused, " + PAUSES + " times");
    SupervisedDomain probe = admin.resources(SupervisedDomain.class).inNamespace(system.apps).withName("vm-0000").get();
    long domainPid = probe.getStatus().pid;
    double[] pausedAfter = new double[PAUSES];
    for (int i = 0; i < PAUSES; i++) {
      long stoppedAt = System.nanoTime();
      agentA.freeze();
      while (!Signals.stopped(domainPid)) {
        Thread.sleep(5);
      }
      pausedAfter[i] = (System.nanoTime() - stoppedAt) / 1e6;
      agentA.thaw();
      Await.until("the domain resumes", Duration.ofSeconds(60), () -> !Signals.stopped(domainPid));
      progress("paused " + Math.round(pausedAfter[i]) + " ms after its agent stopped; resumed");
    }

    String report = report(baseline, toRunning, decideToExec, supervisorRss, supervisorPss, agentRss, idleCpu,
        pausedAfter);
    cleanUp(admin, system);
    return report;
  }

  /** Deletes every domain and waits, so the supervisors and their domains are gone with the run. */
  private static void cleanUp(KubernetesClient admin, LocalSystem system) {
    progress("deleting the domains");
    admin.resources(SupervisedDomain.class).inNamespace(system.apps).delete();
    Await.until("all domains gone", Duration.ofMinutes(5),
        () -> admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems().isEmpty());
  }

  /**
   * For each domain, from its agent deciding to start it (the agent's {@code event=supervisor-started} line, logged
   * once the supervisor has its assignment) to its process exec'd (the supervisor's {@code runningAtMillis}, set just
   * after the spawn): the supervisor's own part of a start, in ms, both on this machine's wall clock.
   */
  private static double[] decideToExec(LocalSystem system) throws Exception {
    Pattern started = Pattern.compile("^(\\S+) .*event=supervisor-started domain=(\\S+) ", Pattern.MULTILINE);
    List<Double> parts = new ArrayList<>();
    for (String node : List.of("a", "b", "c")) {
      Map<String, Long> decided = new HashMap<>();
      Matcher m = started.matcher(system.agent(node).log());
      while (m.find()) {
        decided.put(m.group(2), OffsetDateTime.parse(m.group(1)).toInstant().toEpochMilli());
      }
      for (SupervisedDomain d : system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list()
          .getItems()) {
        Path state = system.runDir(node).resolve("domains").resolve(d.getMetadata().getUid()).resolve("state.json");
        Long at = decided.get(system.apps + "/" + d.getMetadata().getName());
        if (at != null && Files.exists(state)) {
          Long running = SupervisorState.read(state.getParent()).runningAtMillis;
          if (running != null) {
            parts.add((double) (running - at));
          }
        }
      }
    }
    return parts.stream().mapToDouble(Double::doubleValue).sorted().toArray();
  }

  private static String report(double[] baseline, double[] toRunning, double[] decideToExec, double[] supervisorRss,
      double[] supervisorPss, double agentRss, double idleCpu, double[] pausedAfter) {
    StringBuilder md = new StringBuilder();
    md.append("Real kube-apiserver and etcd on loopback, one operator and three agent processes at default timeouts, one\n"
        + "supervisor JVM per domain running `/bin/sleep` with one Exclusive disk. \"Create to process running\" runs from\n"
        + "just before the create call to the moment a watch sees the agent report phase Running with a pid (the\n"
        + "supervisor has taken the lock and spawned the process). The pause is timed from SIGSTOP of the agent to the\n"
        + "domain's process state T in /proc.\n\n");
    md.append(Stats.TABLE_HEADER);
    md.append(Stats.baselineRow(baseline));
    md.append(Stats.row("create to process running (ms), " + RATE + " domains/s on 3 agents", toRunning, baseline));
    md.append(Stats.row("agent decides to process exec'd (ms), the same starts", decideToExec, baseline));
    md.append("\n| resource | value |\n|---|---|\n");
    md.append(String.format("| supervisor RSS, p50 / max over %d (MiB) | %.1f / %.1f |%n", supervisorRss.length,
        Stats.percentile(supervisorRss, 50), supervisorRss[supervisorRss.length - 1]));
    md.append(String.format("| supervisor PSS, p50 / max over %d (MiB; shared pages divided among their users) | %.1f / %.1f |%n",
        supervisorPss.length, Stats.percentile(supervisorPss, 50), supervisorPss[supervisorPss.length - 1]));
    md.append(String.format("| agent RSS with %d domains (MiB) | %.1f |%n", DOMAINS / 3 + (DOMAINS % 3 > 0 ? 1 : 0),
        agentRss));
    md.append(String.format("| agent CPU at idle with those domains (cores, %d s window) | %.3f |%n", IDLE_SECONDS,
        idleCpu));
    md.append("\n| agent stopped (SIGSTOP) to domain paused (ms), renewInterval 2 s, fenceTimeout 6 s | "
        + Arrays.stream(pausedAfter).mapToObj(v -> String.format("%.0f", v)).reduce((a, b) -> a + ", " + b).orElse("")
        + " |\n|---|---|\n");
    return md.toString();
  }
}
