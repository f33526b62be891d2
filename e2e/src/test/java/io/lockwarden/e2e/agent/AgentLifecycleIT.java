package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.RestartPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.ForeignLock;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.e2e.harness.WatchEventCount;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The node agent with the real operator, real supervisors, real processes and real locks: what a user sees of a
 * domain's life on a node. Two agents share one disk directory, as two hosts share storage.
 */
@ExtendWith(ControlPlaneExtension.class)
class AgentLifecycleIT {
  private static LocalSystem system;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "life", Map.of(), Map.of(), "a", "b");
  }

  @AfterAll
  static void stop() {
    system.close();
  }

  @Test
  void startsAWorkloadWithItsLockHeldThenStopsRestartsAndDeletesIt() throws Exception {
    String file = uniqueName("life") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));

    SupervisedDomain running = system.awaitRunning(vm, "a");
    long epoch = system.holders(file).get(0).epoch;
    assertThat(running.getStatus().supervisorPid).isNotNull();
    assertThat(Signals.alive(running.getStatus().supervisorPid)).isTrue();
    assertThat(running.getStatus().supervisor.path).endsWith("java");
    assertThat(running.getStatus().supervisor.args).contains("--domain", system.key(vm), "--");
    assertThat(running.getStatus().supervisor.context).isNotNull();
    assertThat(system.condition(vm, DomainConditions.RUNNING).getStatus()).isEqualTo("True");
    assertThat(system.condition(vm, DomainConditions.LOCAL_LOCK_BUSY).getStatus()).isEqualTo("False");
    Await.until("records with the grant's epoch", LocalSystem.WAIT, () -> system.records(file).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + epoch + ",") && r.contains("\"node\":\"" + system.node("a") + "\"")));
    assertThat(ForeignLock.canLock(system.disk(file))).as("a foreign lock on byte 0 of a running domain's disk").isFalse();

    system.patch(vm, "{\"spec\":{\"running\":false}}");
    SupervisedDomain stopped = system.awaitPhase(vm, DomainPhase.Stopped);
    Await.until("the lease released", LocalSystem.WAIT, () -> system.holders(file).isEmpty());
    stopped = system.domain(vm);
    assertThat(stopped.getStatus().lastExit.code).as("SIGTERM: the workload ends cleanly").isEqualTo(0);
    assertThat(stopped.getStatus().pid).isNull();
    assertThat(Signals.alive(running.getStatus().pid)).isFalse();
    assertThat(ForeignLock.canLock(system.disk(file))).isTrue();

    system.patch(vm, "{\"spec\":{\"running\":true}}");
    SupervisedDomain again = system.awaitRunning(vm, "a");
    assertThat(again.getStatus().pid).isNotEqualTo(running.getStatus().pid);
    assertThat(system.holders(file).get(0).epoch).as("a new grant, a new fencing token").isGreaterThan(epoch);

    system.delete(vm);
    system.awaitGone(vm);
    assertThat(Signals.alive(again.getStatus().pid)).isFalse();
    assertThat(system.holders(file)).isEmpty();
    assertThat(ForeignLock.canLock(system.disk(file))).isTrue();
  }

  @Test
  void exclusiveExcludesAcrossAgentsAndSharedShares() {
    String file = uniqueName("excl") + ".img";
    String first = uniqueName("vm");
    String second = uniqueName("vm");
    system.create(system.workload(first, "a", system.exclusive(file)));
    system.awaitRunning(first, "a");
    system.create(system.workload(second, "b", system.exclusive(file)));
    Await.until(second + " waits for the disk", LocalSystem.WAIT, () -> {
      SupervisedDomain d = system.domain(second);
      return d.getStatus() != null && d.getStatus().phase == DomainPhase.Waiting;
    });
    assertThat(system.domain(second).getStatus().pid).isNull();

    system.delete(first);
    system.awaitRunning(second, "b");
    system.delete(second);

    String sharedFile = uniqueName("shared") + ".img";
    String reader1 = uniqueName("vm");
    String reader2 = uniqueName("vm");
    system.create(system.workload(reader1, "a", system.shared(sharedFile)));
    system.create(system.workload(reader2, "b", system.shared(sharedFile)));
    system.awaitRunning(reader1, "a");
    system.awaitRunning(reader2, "b");
    assertThat(system.holders(sharedFile)).hasSize(2);
    assertThat(ForeignLock.canLock(system.disk(sharedFile))).as("readers exclude a foreign writer").isFalse();
    system.delete(reader1);
    system.delete(reader2);
  }

  @Test
  void aForeignLockOnByteZeroHoldsTheStartBackUntilItIsFreed() {
    String file = uniqueName("busy") + ".img";
    String vm = uniqueName("vm");
    try (ForeignLock virtlockd = ForeignLock.hold(system.disk(file))) {
      system.create(system.workload(vm, "a", system.exclusive(file)));
      var busy = system.awaitCondition(vm, DomainConditions.LOCAL_LOCK_BUSY, "True", "ForeignHolder");
      assertThat(busy.getMessage()).contains(file).contains("pid " + virtlockd.pid());
      assertThat(system.domain(vm).getStatus().pid).isNull();
      assertThat(system.agent("a").get("/metrics")).containsPattern("lockwarden_local_lock_conflicts_total\\{[^}]*\\} [1-9]");
      var onLease = Await.value("the DiskLease shows the conflict", LocalSystem.WAIT, () -> {
        var lease = system.leaseFor(file);
        return lease == null || lease.getStatus() == null ? null : lease.getStatus().conditions.stream()
            .filter(c -> DomainConditions.LOCAL_LOCK_BUSY.equals(c.getType()) && "True".equals(c.getStatus()))
            .findFirst().orElse(null);
      });
      assertThat(onLease.getMessage()).contains(system.key(vm)).contains("pid " + virtlockd.pid());
    }
    system.awaitRunning(vm, "a");
    system.awaitCondition(vm, DomainConditions.LOCAL_LOCK_BUSY, "False", null);
    Await.until("the DiskLease's conflict cleared", LocalSystem.WAIT, () -> system.leaseFor(file).getStatus().conditions
        .stream().anyMatch(c -> DomainConditions.LOCAL_LOCK_BUSY.equals(c.getType()) && "False".equals(c.getStatus())));
    system.delete(vm);
  }

  @Test
  void killingTheSupervisorKillsTheDomainFreesTheLockAndTheAgentStartsItAgain() {
    String file = uniqueName("supkill") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));
    SupervisedDomain running = system.awaitRunning(vm, "a");

    Signals.send("KILL", running.getStatus().supervisorPid);

    Await.until("the domain process dies with its supervisor", LocalSystem.WAIT,
        () -> !Signals.alive(running.getStatus().pid));
    SupervisedDomain restarted = Await.value("started again", LocalSystem.WAIT, () -> {
      SupervisedDomain d = system.awaitRunning(vm, "a");
      return !d.getStatus().pid.equals(running.getStatus().pid) ? d : null;
    });
    assertThat(restarted.getStatus().lastExit.signal).isEqualTo(9);
    system.delete(vm);
    system.awaitGone(vm);
    assertThat(ForeignLock.canLock(system.disk(file))).isTrue();
  }

  @Test
  void hotPlugTakesTheLockWhileTheProcessRunsAndUnplugReleasesIt() {
    String root = uniqueName("root") + ".img";
    String extra = uniqueName("extra") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain domain = system.workload(vm, "a", system.exclusive(root));
    domain.getSpec().command.add(system.disk(extra)); // written once it holds a token for it
    system.create(domain);
    SupervisedDomain running = system.awaitRunning(vm, "a");
    assertThat(ForeignLock.canLock(system.disk(extra))).isTrue();

    system.patch(vm, "{\"spec\":{\"disks\":[{\"path\":\"" + system.disk(root) + "\"},{\"path\":\"" + system.disk(extra)
        + "\"}]}}");
    Await.until("the workload writes to the plugged disk with its token", LocalSystem.WAIT,
        () -> !system.records(extra).isEmpty());
    LeaseHolder plugged = system.holders(extra).get(0);
    Await.until("the plugged lease shows Granted once locked", LocalSystem.WAIT, () -> system.domain(vm).getStatus()
        .leases.stream().allMatch(l -> l.state == io.lockwarden.api.v1alpha1.DomainLeaseState.Granted)
        && system.domain(vm).getStatus().locks.size() == 2);
    assertThat(system.records(extra).get(0)).contains("\"epoch\":" + plugged.epoch + ",");
    assertThat(ForeignLock.canLock(system.disk(extra))).isFalse();
    assertThat(system.domain(vm).getStatus().pid).as("the same process").isEqualTo(running.getStatus().pid);

    system.patch(vm, "{\"spec\":{\"disks\":[{\"path\":\"" + system.disk(root) + "\"}]}}");
    Await.until("the unplugged disk's grant released", LocalSystem.WAIT, () -> system.holders(extra).isEmpty());
    assertThat(ForeignLock.canLock(system.disk(extra))).isTrue();
    assertThat(system.domain(vm).getStatus().pid).isEqualTo(running.getStatus().pid);
    assertThat(Signals.alive(running.getStatus().pid)).isTrue();
    system.delete(vm);
  }

  @Test
  void theNodesPolicyRefusesUnlistedExecutablesAndPathsOutsideItsPrefixes() throws Exception {
    String shell = uniqueName("shell");
    SupervisedDomain domain = TestObjects.domain(system.apps, shell, system.node("a"));
    domain.getSpec().command = List.of("/usr/bin/env", "bash");
    system.create(domain);
    var refused = system.awaitCondition(shell, "ExecutableNotAllowed", "True", "ExecutableNotAllowed");
    assertThat(refused.getMessage()).contains("/usr/bin/env").contains("--allowed-executables");
    assertThat(system.domain(shell).getStatus().pid).isNull();

    Path outside = Files.createTempFile("lockwarden-outside", ".img");
    Path link = system.disks.resolve(uniqueName("escape") + ".img");
    Files.createSymbolicLink(link, outside);
    String escape = uniqueName("escape");
    system.create(TestObjects.domain(system.apps, escape, system.node("a"),
        TestObjects.disk(link.toString(), io.lockwarden.api.v1alpha1.AccessMode.Exclusive)));
    var pathRefused = system.awaitCondition(escape, "PathNotAllowed", "True", "PathNotAllowed");
    assertThat(pathRefused.getMessage()).contains(outside.toRealPath().toString()).contains("--allowed-path-prefixes");
    assertThat(system.domain(escape).getStatus().pid).isNull();
    system.delete(shell);
    system.delete(escape);
  }

  @Test
  void parametersAndFencingTokensReachTheProcessAndNothingOfTheAgentsEnvironment() throws Exception {
    String file = uniqueName("env") + ".img";
    Path out = system.disks.resolve(uniqueName("env") + ".txt"); // where the domain (nobody) may write
    String vm = uniqueName("vm");
    SupervisedDomain domain = TestObjects.domain(system.apps, vm, system.node("a"), system.exclusive(file));
    domain.getSpec().id = 7L;
    domain.getSpec().parameters = Map.of("ROLE", "db");
    domain.getSpec().env = List.of(new io.lockwarden.api.v1alpha1.EnvVar("GREETING", "hello"));
    domain.getSpec().command = List.of("/bin/sh", "-c", "env > " + out + ".tmp && mv " + out + ".tmp " + out
        + " && exec sleep 3600");
    system.create(domain);
    system.awaitRunning(vm, "a");
    Await.until("the environment written", LocalSystem.WAIT, () -> Files.exists(out));
    String env = Files.readString(out);
    long epoch = system.holders(file).get(0).epoch;
    assertThat(env).contains("LOCKWARDEN_DOMAIN_UUID=" + domain.getSpec().uuid, "LOCKWARDEN_DOMAIN_ID=7",
        "LOCKWARDEN_DOMAIN_NAME=" + vm, "LOCKWARDEN_PARAM_ROLE=db", "GREETING=hello",
        "LOCKWARDEN_FENCING_TOKENS=" + system.disk(file) + "=" + epoch, "LOCKWARDEN_FENCING_TOKENS_FILE=");
    assertThat(env).doesNotContain("KUBECONFIG");
    system.delete(vm);
  }

  @Test
  void everyComponentUsesOneHttpClientChosenOnPurpose() {
    // fabric8 picks one at random, and says so, when two HTTP client implementations are on the class path; the
    // operator and the agent carry the JDK's alone (their poms exclude Vert.x).
    for (var component : List.of(system.operator(), system.agent("a"), system.agent("b"))) {
      assertThat(component.log()).as(component + "'s log").doesNotContain("chosen randomly");
    }
  }

  @Test
  void anAgentWatchesOnlyTheDomainsThatNameItsNode() {
    // Each agent selects domains by node on the API server (the CRD's selectableFields): a node with no domain of
    // its own caches none and receives no domain event, however busy the others are (issue #16). DiskLeases are
    // still watched whole (a lease names its holders' nodes in a list, which no field selector reaches).
    String file = uniqueName("scope") + ".img";
    List<String> vms = List.of(uniqueName("vm"), uniqueName("vm"), uniqueName("vm"));
    try (var idle = system.startAgent("idle")) {
      system.awaitNodesAlive(3);
      vms.forEach(vm -> system.create(system.workload(vm, "b", system.shared(file))));
      vms.forEach(vm -> system.awaitRunning(vm, "b"));
      system.patch(vms.get(0), "{\"spec\":{\"running\":false}}");
      system.awaitPhase(vms.get(0), DomainPhase.Stopped);
      Await.until("the idle agent has seen DiskLease events", LocalSystem.WAIT,
          () -> WatchEventCount.in(idle.get("/metrics"), "DiskLease") > 0);
      assertThat(WatchEventCount.in(idle.get("/metrics"), "SupervisedDomain"))
          .as("domain events received by an agent whose node no domain names").isZero();
      assertThat(WatchEventCount.in(system.agent("b").get("/metrics"), "SupervisedDomain"))
          .as("domain events received by the agent running them").isGreaterThanOrEqualTo(vms.size());
    } finally {
      vms.forEach(system::delete);
    }
  }

  @Test
  void supervisorsStartFromTheClassDataArchiveTheirAgentMade() throws Exception {
    // The agent runs from jars (as in an image), so it can archive its supervisors' classes once and start each
    // spare from the archive, in about half the CPU time (docs/benchmarks.md, item g).
    Path runDir = system.runDir("a");
    Await.until("agent a's supervisor archive", LocalSystem.WAIT, () -> archives(runDir).size() == 1);
    String vm = uniqueName("vm");
    system.create(TestObjects.domain(system.apps, vm, system.node("a")));
    long supervisorPid = system.awaitRunning(vm, "a").getStatus().supervisorPid;
    assertThat(Files.readString(Path.of("/proc", Long.toString(supervisorPid), "maps")))
        .as("the supervisor's JVM maps the archive").contains(archives(runDir).get(0).toString());
    system.delete(vm);
  }

  private static List<Path> archives(Path runDir) {
    try (var files = Files.list(runDir)) {
      return files.filter(f -> f.getFileName().toString().matches("supervisor-[0-9a-f]+\\.jsa")).toList();
    } catch (java.io.IOException e) {
      return List.of();
    }
  }

  @Test
  void aDomainsEnvironmentNeverConfiguresItsSupervisorsJvm() throws Exception {
    // The supervisor's JVM runs as root. Were the domain's env its own, JAVA_TOOL_OPTIONS would have root write a
    // file wherever the domain's author likes (here, a JVM log), or load their agent (docs/safety.md, SEC-5).
    Path rootWrote = system.disks.resolve(uniqueName("root-wrote") + ".log");
    Path saw = system.disks.resolve(uniqueName("saw") + ".txt");
    String vm = uniqueName("vm");
    SupervisedDomain domain = TestObjects.domain(system.apps, vm, system.node("a"));
    domain.getSpec().env = List.of(new io.lockwarden.api.v1alpha1.EnvVar("JAVA_TOOL_OPTIONS",
        "-Xlog:gc:file=" + rootWrote));
    domain.getSpec().command = List.of("/bin/sh", "-c", "echo \"$JAVA_TOOL_OPTIONS\" > " + saw + ".tmp && mv " + saw
        + ".tmp " + saw + " && exec sleep 3600");
    system.create(domain);
    system.awaitRunning(vm, "a");
    Await.until("the domain wrote its environment", LocalSystem.WAIT, () -> Files.exists(saw));
    assertThat(Files.readString(saw)).as("the domain gets its env").contains("-Xlog:gc:file=" + rootWrote);
    assertThat(rootWrote).as("no JVM of lockwarden's read it").doesNotExist();
    system.delete(vm);
  }

  @Test
  void restartPolicyDecidesWhatAnExitLeadsTo() {
    String failing = uniqueName("failing");
    SupervisedDomain onFailure = TestObjects.domain(system.apps, failing, system.node("b"));
    onFailure.getSpec().command = List.of("/bin/sh", "-c", "exit 3");
    onFailure.getSpec().restartPolicy = RestartPolicy.OnFailure;
    system.create(onFailure);
    var backOff = system.awaitCondition(failing, DomainConditions.RUNNING, "False", "BackOff");
    assertThat(backOff.getMessage()).contains("exited with code 3").contains("starts it again in");
    Await.until("a second exit after the back-off", LocalSystem.WAIT, () -> system.condition(failing,
        DomainConditions.RUNNING).getMessage().contains("again in 2 s"));
    assertThat(system.domain(failing).getStatus().lastExit.code).isEqualTo(3);
    assertThat(system.domain(failing).getStatus().phase).isEqualTo(DomainPhase.Failed);

    String file = uniqueName("once") + ".img";
    String once = uniqueName("once");
    SupervisedDomain never = TestObjects.domain(system.apps, once, system.node("b"), system.exclusive(file));
    never.getSpec().command = List.of("/bin/sh", "-c", "exit 0");
    never.getSpec().restartPolicy = RestartPolicy.Never;
    system.create(never);
    system.awaitCondition(once, DomainConditions.RUNNING, "False", DomainConditions.REASON_COMPLETED);
    Await.until("a completed domain's lease released", LocalSystem.WAIT, () -> system.holders(file).isEmpty()
        && system.leaseFor(file) != null);
    assertThat(system.domain(once).getStatus().phase).isEqualTo(DomainPhase.Stopped);
    assertThat(system.domain(once).getStatus().lastExit.code).isEqualTo(0);
    system.delete(failing);
    system.delete(once);
  }
}
