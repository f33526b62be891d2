package io.lockwarden.e2e.migration;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Records;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Migration between two real agents with real processes and locks: the hand-off, cancel, and the failures of the
 * issue's table, each ending with at most one runner. Timeouts as in AgentFencingIT.
 */
@ExtendWith(ControlPlaneExtension.class)
class MigrationIT {
  private static LocalSystem system;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "mig", LocalSystem.FENCING_OPERATOR,
        LocalSystem.FENCING_AGENT, "a", "b");
  }

  @AfterEach
  void everyAgentAwake() {
    for (String node : List.of("a", "b")) {
      if (system.agent(node).isAlive()) {
        system.agent(node).thaw();
      } else {
        system.startAgent(node); // a test that powered a node off failed before it powered it on again
      }
    }
  }

  @AfterAll
  static void stop() {
    system.close();
  }

  @Test
  void aLiveMigrationMovesTheGrantsWithNewEpochsAndTheWorkloadCarriesOnOnTheTarget() {
    String root = uniqueName("live") + ".img";
    String data = uniqueName("data") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(root), system.shared(data)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long rootEpoch = system.holders(root).get(0).epoch;

    migrate(vm, "b", "Warm");

    SupervisedDomain done = awaitMigration(vm, MigrationStatus.COMPLETED);
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    assertThat(done.getStatus().migration.handoffMillis).isNotNull().isNotNegative();
    assertThat(onB.getStatus().pid).isNotEqualTo(onA.getStatus().pid);
    Await.until("the source process is terminated", LocalSystem.WAIT, () -> !Signals.alive(onA.getStatus().pid));
    LeaseHolder moved = system.holders(root).get(0);
    assertThat(moved.node).isEqualTo(system.node("b"));
    assertThat(moved.epoch).isGreaterThan(rootEpoch);
    assertThat(system.holders(data)).extracting(h -> h.node).containsExactly(system.node("b"));
    Await.until("the workload writes on b with its new token", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + moved.epoch + ",") && r.contains("\"node\":\"" + system.node("b"))));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(root), rootEpoch, moved.epoch);
    Await.until("an Event for the completed migration", LocalSystem.WAIT, () -> system.admin.v1().events()
        .inNamespace(system.apps).list().getItems().stream()
        .anyMatch(e -> vm.equals(e.getInvolvedObject().getName()) && "MigrationCompleted".equals(e.getReason())));
    Await.until("the hand-off is counted", LocalSystem.WAIT, () -> system.operator().get("/metrics")
        .matches("(?s).*lockwarden_migrations_total\\{result=\"completed\"\\} [1-9].*"));
    system.delete(vm);
  }

  @Test
  void aColdMigrationStopsTheSourceAndStartsTheTarget() {
    String root = uniqueName("cold") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long epoch = system.holders(root).get(0).epoch;

    migrate(vm, "b", "Cold");

    awaitMigration(vm, MigrationStatus.COMPLETED);
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    assertThat(Signals.alive(onA.getStatus().pid)).isFalse();
    long newEpoch = system.holders(root).get(0).epoch;
    assertThat(newEpoch).isGreaterThan(epoch);
    Await.until("the workload writes on b", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + newEpoch + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(root), epoch, newEpoch);
    assertThat(onB.getStatus().node).isEqualTo(system.node("b"));
    system.delete(vm);
  }

  @Test
  void removingTheRequestBeforeTheHandOffCancelsItAndLeavesTheSourceRunning() {
    String root = uniqueName("cancel") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    system.agent("b").freeze(); // the target never gets ready: the migration stays in Preparing

    migrate(vm, "b", "Warm");
    awaitMigration(vm, MigrationStatus.PREPARING);
    system.patch(vm, "{\"spec\":{\"migration\":null}}");

    SupervisedDomain cancelled = awaitMigration(vm, MigrationStatus.CANCELLED);
    assertThat(cancelled.getStatus().node).isEqualTo(system.node("a"));
    assertThat(cancelled.getStatus().pid).isEqualTo(onA.getStatus().pid);
    assertThat(Signals.state(onA.getStatus().pid)).isIn("S", "R");
    system.agent("b").thaw();
    system.awaitNodesAlive(2);
    assertThat(system.awaitRunning(vm, "a").getStatus().pid).isEqualTo(onA.getStatus().pid);
    system.delete(vm);
  }

  @Test
  void theTargetDyingWhilePreparingCancelsTheMigration() {
    String root = uniqueName("tdies") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    system.agent("b").freeze();

    migrate(vm, "b", "Warm");
    SupervisedDomain cancelled = awaitMigration(vm, MigrationStatus.CANCELLED);

    assertThat(cancelled.getStatus().migration.message).contains("died while preparing");
    assertThat(system.awaitRunning(vm, "a").getStatus().pid).isEqualTo(onA.getStatus().pid);
    system.agent("b").thaw();
    system.awaitNodesAlive(2);
    system.delete(vm);
  }

  @Test
  void aTargetThatCannotTakeALockRollsBackToTheSourceWhereTheDomainStartsAfresh() throws Exception {
    String root = uniqueName("busy") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long epoch = system.holders(root).get(0).epoch;
    // A foreign process that grabs byte 0 the moment the source lets go of it, as a stray QEMU could.
    Process grabber = new ProcessBuilder("python3", "-c", String.join("\n",
        "import fcntl, sys, time",
        "f = open(sys.argv[1], 'r+')",
        "while True:",
        "    try:",
        "        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)",
        "        break",
        "    except OSError:",
        "        time.sleep(0.001)",
        "print('locked', flush=True)",
        "time.sleep(3600)"), system.disk(root)).redirectErrorStream(true).start();
    try {
      migrate(vm, "b", "Warm");
      SupervisedDomain failed = awaitMigration(vm, MigrationStatus.FAILED);
      assertThat(failed.getStatus().migration.message).contains("rolled back").contains("locked outside lockwarden");
      LeaseHolder back = Await.value("the grant back on a", LocalSystem.WAIT, () -> {
        List<LeaseHolder> holders = system.holders(root);
        return holders.size() == 1 && holders.get(0).node.equals(system.node("a")) ? holders.get(0) : null;
      });
      assertThat(back.epoch).as("two moves: there and back, each a new token").isEqualTo(epoch + 2);
    } finally {
      grabber.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    // The grant had moved: the held source never runs again (MIG-6), whoever may have written meanwhile.
    SupervisedDomain fresh = system.awaitRunning(vm, "a");
    assertThat(fresh.getStatus().pid).as("a fresh process, not the held one").isNotEqualTo(onA.getStatus().pid);
    assertThat(Signals.alive(onA.getStatus().pid)).isFalse();
    Await.until("the fresh process writes with the newest token", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + (epoch + 2) + ",")));
    assertThat(system.records(root)).noneMatch(r -> r.contains("\"epoch\":" + (epoch + 1) + ","));
    system.delete(vm);
  }

  @Test
  void anOperatorRestartDuringTheHandOffStillCompletesIt() {
    String root = uniqueName("oprestart") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    system.awaitRunning(vm, "a");
    long epoch = system.holders(root).get(0).epoch;
    system.agent("b").freeze(); // the hand-off cannot finish while the target's agent hangs
    migrate(vm, "b", "Warm");
    awaitMigration(vm, MigrationStatus.PREPARING);
    system.operator().kill();
    system.agent("b").thaw();
    system.startOperator();

    awaitMigration(vm, MigrationStatus.COMPLETED);
    system.awaitRunning(vm, "b");
    assertThat(system.holders(root).get(0).epoch).isEqualTo(epoch + 1);
    system.delete(vm);
  }

  @Test
  void aTargetAgentRestartedDuringTheMigrationStillCompletesIt() {
    String root = uniqueName("agrestart") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");

    migrate(vm, "b", "Warm");
    system.agent("b").kill(); // wherever the migration is: before, while or after the target prepares
    system.startAgent("b");

    awaitMigration(vm, MigrationStatus.COMPLETED);
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    Await.until("the source process is terminated", LocalSystem.WAIT, () -> !Signals.alive(onA.getStatus().pid));
    assertThat(onB.getStatus().pid).isNotEqualTo(onA.getStatus().pid);
    system.delete(vm);
  }

  @Test
  void aSourceAgentRestartedDuringTheMigrationStillCompletesIt() {
    String root = uniqueName("srestart") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long epoch = system.holders(root).get(0).epoch;

    migrate(vm, "b", "Warm");
    system.agent("a").kill(); // wherever the migration is: the source's part is read back from its supervisor
    system.startAgent("a");

    awaitMigration(vm, MigrationStatus.COMPLETED);
    system.awaitRunning(vm, "b");
    Await.until("the source process is terminated", LocalSystem.WAIT, () -> !Signals.alive(onA.getStatus().pid));
    long moved = system.holders(root).get(0).epoch;
    Await.until("the workload writes on b", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + moved + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(root), epoch, moved);
    system.delete(vm);
  }

  @Test
  void theSourceNodeDyingAfterItReleasedStillHandsTheGrantsToTheTarget() {
    String root = uniqueName("sdiesafter") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    String uid = onA.getMetadata().getUid();
    long epoch = system.holders(root).get(0).epoch;
    migrate(vm, "b", "Warm");
    // Hang the target's held copy, so that the hand-off is caught between the source's release and the target's run.
    SupervisorState prepared = Await.value("the target's prepared copy", LocalSystem.WAIT, () -> {
      SupervisorState s = system.supervisorState("b", uid);
      return s != null && "Held".equals(s.phase) ? s : null;
    });
    Signals.send("STOP", prepared.supervisorPid);
    try {
      Await.until("the source released and the grant moved to b", LocalSystem.WAIT, () -> {
        List<LeaseHolder> holders = system.holders(root);
        return holders.size() == 1 && holders.get(0).node.equals(system.node("b"));
      });
      assertThat(system.domain(vm).getStatus().migration.outgoing.releasedAtMillis).isNotNull();

      system.powerOff("a", onA);
      system.awaitNodesAlive(1); // past the node timeout: the source is dead, its grants had already moved
      assertThat(system.domain(vm).getStatus().migration.phase).isEqualTo(MigrationStatus.HANDING_OFF);
    } finally {
      Signals.send("CONT", prepared.supervisorPid);
    }

    SupervisedDomain done = awaitMigration(vm, MigrationStatus.COMPLETED);
    assertThat(system.awaitRunning(vm, "b").getStatus().pid).isNotEqualTo(onA.getStatus().pid);
    long moved = system.holders(root).get(0).epoch;
    assertThat(moved).isEqualTo(epoch + 1);
    assertThat(done.getStatus().migration.handoffMillis).isNotNull();
    Await.until("the workload writes on b", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + moved + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(root), epoch, moved);
    system.startAgent("a");
    system.awaitNodesAlive(2);
    system.delete(vm);
  }

  @Test
  void theSourceNodeDyingBeforeItReleasedFencesTheDomainAndItFailsOver() {
    String root = uniqueName("sdiesbefore") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    SupervisedDomain domain = system.workload(vm, "a", system.exclusive(root));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = List.of(system.node("a"), system.node("b"));
    system.create(domain);
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long epoch = system.holders(root).get(0).epoch;
    // Hang the source's supervisor: it cannot release, so the source node dies holding its locks.
    Signals.send("STOP", onA.getStatus().supervisorPid);
    migrate(vm, "b", "Warm");
    awaitMigration(vm, MigrationStatus.HANDING_OFF);

    system.powerOff("a", onA);

    SupervisedDomain failed = awaitMigration(vm, MigrationStatus.FAILED);
    assertThat(failed.getStatus().migration.message).contains("died before it released");
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    assertThat(system.condition(vm, DomainConditions.FENCED).getReason()).isEqualTo(DomainConditions.REASON_FAILED_OVER);
    long newEpoch = system.holders(root).get(0).epoch;
    assertThat(newEpoch).isGreaterThan(epoch);
    assertThat(onB.getStatus().pid).isNotEqualTo(onA.getStatus().pid);
    Await.until("the failed-over copy writes", LocalSystem.WAIT, () -> system.records(root).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + newEpoch + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(root), epoch, newEpoch);
    system.startAgent("a");
    system.awaitNodesAlive(2);
    system.delete(vm);
  }

  @Test
  void aDomainDeletedDuringItsHandOffIsGoneAndLeavesItsDiskFree() {
    String root = uniqueName("deleted") + ".img";
    String vm = uniqueName("vm");
    system.awaitNodesAlive(2);
    system.create(system.workload(vm, "a", system.exclusive(root)));
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    String uid = onA.getMetadata().getUid();
    // The source's agent is frozen (well within the node timeout), so the hand-off waits for its release while the
    // domain is deleted. Its release must then end the grant: handed to the target, where the deleted domain never
    // runs, nobody would ever release it, and the finalizer would wait for ever (the chaos run saw that).
    system.agent("a").freeze();
    SupervisorState prepared;
    try {
      migrate(vm, "b", "Warm");
      awaitMigration(vm, MigrationStatus.HANDING_OFF);
      prepared = system.supervisorState("b", uid);
      system.delete(vm);
      Await.until("the deletion is recorded", LocalSystem.WAIT,
          () -> system.domain(vm) == null || system.domain(vm).getMetadata().getDeletionTimestamp() != null);
    } finally {
      system.agent("a").thaw();
    }

    Await.until("the deleted domain is gone", LocalSystem.WAIT, () -> system.domain(vm) == null);
    Await.until("its disk is held by nobody", LocalSystem.WAIT, () -> system.holders(root).isEmpty());
    Await.until("no process of it is left on a", LocalSystem.WAIT, () -> !Signals.alive(onA.getStatus().pid));
    if (prepared != null && prepared.pid != null) {
      Await.until("no process of it is left on b", LocalSystem.WAIT, () -> !Signals.alive(prepared.pid));
    }
  }

  private static void migrate(String vm, String shortNode, String mode) {
    system.patch(vm, "{\"spec\":{\"migration\":{\"targetNode\":\"" + system.node(shortNode) + "\",\"mode\":\"" + mode
        + "\"}}}");
  }

  private static SupervisedDomain awaitMigration(String vm, String phase) {
    return Await.value(vm + " migration " + phase, LocalSystem.WAIT, () -> {
      SupervisedDomain d = system.domain(vm);
      return d.getStatus() != null && d.getStatus().migration != null && phase.equals(d.getStatus().migration.phase)
          ? d : null;
    });
  }

}
