package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Records;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Agent restarts, hung agents and dead nodes, with real agents, supervisors, processes and locks. Timeouts:
 * {@link LocalSystem#FENCING_AGENT} and {@link LocalSystem#FENCING_OPERATOR}.
 */
@ExtendWith(ControlPlaneExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentFencingIT {
  private static LocalSystem system;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "fence", LocalSystem.FENCING_OPERATOR,
        LocalSystem.FENCING_AGENT, "a", "b");
  }

  @AfterAll
  static void stop() {
    system.close();
  }

  @Test
  @Order(1)
  void aKilledAgentRestartedInTimeStopsNothingAndAdoptsItsSupervisors() throws Exception {
    String file = uniqueName("adopt") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));
    SupervisedDomain before = system.awaitRunning(vm, "a");

    system.agent("a").kill();
    assertThat(Signals.alive(before.getStatus().pid)).isTrue();
    JavaProcess restarted = system.startAgent("a");

    Await.until("the new agent adopts the supervisor", LocalSystem.WAIT, () -> restarted.log()
        .contains("event=supervisor-adopted domain=" + system.key(vm)));
    int records = system.records(file).size();
    Await.until("the domain keeps writing", LocalSystem.WAIT, () -> system.records(file).size() > records + 5);
    SupervisedDomain after = system.awaitRunning(vm, "a");
    assertThat(after.getStatus().pid).isEqualTo(before.getStatus().pid);
    assertThat(after.getStatus().supervisorPid).isEqualTo(before.getStatus().supervisorPid);
    assertThat(supervisorLog("a", after)).as("the domain was never paused or killed").doesNotContain("event=fenced");
    system.delete(vm);
  }

  @Test
  @Order(2)
  void aHungAgentsDomainIsPausedBeforeTheNodeTimeoutAndResumesWhenNothingWasRevoked() throws Exception {
    String file = uniqueName("pause") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));
    SupervisedDomain running = system.awaitRunning(vm, "a");
    long pid = running.getStatus().pid;
    LeaseHolder granted = system.holders(file).get(0);

    system.agent("a").freeze();
    Await.until("the domain is stopped", LocalSystem.WAIT, () -> Signals.stopped(pid));
    assertThat(system.holders(file)).as("paused while its grant still stands: before any revocation")
        .extracting(h -> h.epoch).containsExactly(granted.epoch);
    system.agent("a").thaw();

    Await.until("the domain runs again", LocalSystem.WAIT, () -> !Signals.stopped(pid) && Signals.alive(pid));
    assertThat(system.holders(file)).extracting(h -> h.epoch).containsExactly(granted.epoch);
    Await.until("the supervisor logged the pause and the resume", LocalSystem.WAIT, () -> {
      String log = supervisorLog("a", running);
      return log.contains("event=fenced domain=" + system.key(vm) + " action=pause") && log.contains("event=resumed");
    });
    Await.until("the resume is counted", LocalSystem.WAIT, () -> system.agent("a").get("/metrics")
        .matches("(?s).*lockwarden_fence_actions_total\\{action=\"resume\"[^}]*\\} [1-9].*"));
    system.delete(vm);
  }

  @Test
  @Order(3)
  void aHungAgentResumedAfterItsNodeWasFencedHasItsDomainKilledThenStartedOnANewEpoch() {
    String file = uniqueName("revoked") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));
    SupervisedDomain running = system.awaitRunning(vm, "a");
    long pid = running.getStatus().pid;
    long epoch = system.holders(file).get(0).epoch;

    system.agent("a").freeze();
    system.awaitCondition(vm, DomainConditions.FENCED, "True", DomainConditions.REASON_NODE_DEAD);
    assertThat(Signals.alive(pid)).as("still paused: its pauseTimeout has not run out").isTrue();
    system.agent("a").thaw();

    Await.until("the paused domain is killed once the agent sees the revocation", LocalSystem.WAIT,
        () -> !Signals.alive(pid));
    // Whichever the thawed agent notices first: the revoked grant in its cache, or the fence mark on its Lease.
    assertThat(system.agent("a").log()).containsPattern("event=(fenced-kill|supervisor-killed) domain="
        + system.key(vm) + " node=" + system.node("a") + "( reason=grant-revoked)?");
    SupervisedDomain again = system.awaitRunning(vm, "a");
    assertThat(again.getStatus().pid).isNotEqualTo(pid);
    assertThat(system.holders(file).get(0).epoch).isGreaterThan(epoch);
    system.delete(vm);
  }

  @Test
  @Order(4)
  void pastThePauseTimeoutThePausedCopyIsKilledAndTheFailedOverCopyStartsOnceTheLockFrees() {
    String file = uniqueName("failover") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain domain = system.workload(vm, "a", system.exclusive(file));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = List.of(system.node("a"), system.node("b"));
    system.awaitNodesAlive(2);
    system.create(domain);
    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long oldEpoch = system.holders(file).get(0).epoch;

    system.agent("a").freeze();
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    assertThat(Signals.alive(onA.getStatus().pid)).as("the paused copy was killed first").isFalse();
    long newEpoch = system.holders(file).get(0).epoch;
    assertThat(newEpoch).isGreaterThan(oldEpoch);
    Await.until("the new copy writes", LocalSystem.WAIT, () -> system.records(file).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + newEpoch + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(file), oldEpoch, newEpoch);
    system.agent("a").thaw();
    assertThat(system.awaitRunning(vm, "b").getStatus().pid).isEqualTo(onB.getStatus().pid);
    system.delete(vm);
  }

  @Test
  @Order(5)
  void aDeadNodesDomainFailsOverToTheNextCandidate() {
    String file = uniqueName("poweroff") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain domain = system.workload(vm, "b", system.exclusive(file));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = List.of(system.node("b"), system.node("a"));
    system.awaitNodesAlive(2);
    system.create(domain);
    SupervisedDomain onB = system.awaitRunning(vm, "b");
    long oldEpoch = system.holders(file).get(0).epoch;

    system.powerOff("b", onB);

    SupervisedDomain onA = system.awaitRunning(vm, "a");
    long newEpoch = system.holders(file).get(0).epoch;
    assertThat(newEpoch).isGreaterThan(oldEpoch);
    assertThat(system.condition(vm, DomainConditions.FENCED).getReason()).isEqualTo(DomainConditions.REASON_FAILED_OVER);
    Await.until("the new copy writes", LocalSystem.WAIT, () -> system.records(file).stream()
        .anyMatch(r -> r.contains("\"epoch\":" + newEpoch + ",")));
    Records.assertOldEpochNeverWritesAfterTheNew(system.records(file), oldEpoch, newEpoch);
    assertThat(onA.getStatus().node).isEqualTo(system.node("a"));
    system.delete(vm);
  }

  private static String supervisorLog(String shortNode, SupervisedDomain domain) {
    Path log = system.runDir(shortNode).resolve("domains").resolve(domain.getMetadata().getUid()).resolve("supervisor.log");
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
