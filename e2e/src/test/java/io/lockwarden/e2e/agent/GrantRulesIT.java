package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.ForeignLock;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import io.lockwarden.api.v1alpha1.AccessMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which grants the agent uses, and which it never uses again (issue #13, holes g, j and l): a grant it reported
 * released, a domain its node refuses, a disk path that stops resolving for a while.
 */
@ExtendWith(ControlPlaneExtension.class)
class GrantRulesIT {
  private static LocalSystem system;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "grants", Map.of(), Map.of(), "a");
  }

  @AfterAll
  static void stop() {
    system.close();
  }

  /** Hole (j): set running again before the operator took in the release, the domain waits for a new grant. */
  @Test
  void aGrantReportedReleasedIsNeverUsedAgain() {
    String file = uniqueName("spent") + ".img";
    String vm = uniqueName("vm");
    system.create(system.workload(vm, "a", system.exclusive(file)));
    SupervisedDomain first = system.awaitRunning(vm, "a");
    long epoch = system.holders(file).get(0).epoch;

    system.operator().freeze();
    try {
      system.patch(vm, "{\"spec\":{\"running\":false}}");
      Await.until("the agent reports the grant released", LocalSystem.WAIT, () -> {
        SupervisedDomain d = system.domain(vm);
        return d.getStatus().released != null && d.getStatus().released.stream()
            .anyMatch(r -> Objects.equals(r.epoch, epoch));
      });
      system.patch(vm, "{\"spec\":{\"running\":true}}");
      long generation = system.domain(vm).getMetadata().getGeneration();
      Condition running = Await.value("the agent has decided on the new generation", LocalSystem.WAIT, () -> {
        Condition c = system.condition(vm, DomainConditions.RUNNING);
        return c != null && (Objects.equals(c.getObservedGeneration(), generation) || "True".equals(c.getStatus()))
            ? c : null;
      });
      assertThat(running.getStatus()).as("it did not start under the grant it reported released").isEqualTo("False");
      assertThat(running.getReason()).isEqualTo("NotStarted");
      assertThat(system.supervisorState("a", first.getMetadata().getUid()).supervisorPid)
          .as("no supervisor started since the stop").isEqualTo(first.getStatus().supervisorPid);
      assertThat(system.domain(vm).getStatus().pid).isNull();
      assertThat(system.holders(file)).extracting(h -> h.epoch).as("the operator has not acted yet")
          .containsExactly(epoch);
    } finally {
      system.operator().thaw();
    }
    system.awaitRunning(vm, "a");
    assertThat(system.holders(file).get(0).epoch).isGreaterThan(epoch);
    system.delete(vm);
  }

  /** Hole (l): a program the node refuses ends Failed, and its disk stays free for everyone else. */
  @Test
  void aDomainWhoseProgramTheNodeRefusesIsFailedAndHoldsNoLease() {
    String file = uniqueName("refused") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain refused = system.workload(vm, "a", system.exclusive(file));
    refused.getSpec().command = List.of("/usr/bin/yes");
    system.create(refused);

    system.awaitPhase(vm, DomainPhase.Failed);
    Condition running = system.awaitCondition(vm, DomainConditions.RUNNING, "False",
        DomainConditions.REASON_EXECUTABLE_NOT_ALLOWED);
    assertThat(running.getMessage()).contains("/usr/bin/yes", "holds no lease");
    Await.until("its lease is free", LocalSystem.WAIT, () -> system.holders(file).isEmpty());

    String other = uniqueName("vm");
    system.create(system.workload(other, "a", system.exclusive(file)));
    system.awaitRunning(other, "a");
    assertThat(system.domain(vm).getStatus().phase).isEqualTo(DomainPhase.Failed);
    system.delete(other);

    system.patch(vm, "{\"spec\":{\"command\":[\"" + LocalSystem.WORKLOAD + "\",\"" + system.disk(file) + "\"]}}");
    system.awaitRunning(vm, "a"); // a new spec is tried afresh
    system.delete(vm);
  }

  /**
   * An attached (libvirt) domain on a node whose agent serves no lockd socket, its process long gone: it asks for no
   * lease (ProcessGone) rather than being granted and released over and over, about 20 times a second (found on
   * ./local-cluster brought up without --libvirt after a run with it).
   */
  @Test
  void anAttachedDomainWhoseProcessIsGoneFromANodeWithoutLockdAsksForNoLease() {
    String file = uniqueName("gone") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain domain = TestObjects.domain(system.apps, vm, system.node("a"), system.exclusive(file));
    domain.getSpec().command = null;
    domain.getSpec().placement = null;
    domain.getSpec().attach = new io.lockwarden.api.v1alpha1.AttachSpec();
    domain.getSpec().attach.node = system.node("a");
    domain.getSpec().attach.process = "999999999:1"; // no such process
    system.create(domain);

    Condition running = system.awaitCondition(vm, DomainConditions.RUNNING, "False",
        DomainConditions.REASON_PROCESS_GONE);
    assertThat(running.getMessage()).contains("999999999:1", "serves no lockd socket", "holds no lease");
    Await.until("its lease is free", LocalSystem.WAIT, () -> system.leaseFor(file) != null
        && system.holders(file).isEmpty());
    Long epoch = system.leaseFor(file).getStatus() == null ? null : system.leaseFor(file).getStatus().epoch;
    // Several of the agent's passes and the operator's grants, as a barrier: another domain starts on the node.
    String other = uniqueName("vm");
    system.create(system.workload(other, "a", system.exclusive(uniqueName("other") + ".img")));
    system.awaitRunning(other, "a");
    DiskLeaseView after = new DiskLeaseView(system.leaseFor(file).getStatus() == null ? null
        : system.leaseFor(file).getStatus().epoch, system.holders(file).size());
    assertThat(after).as("granted no more").isEqualTo(new DiskLeaseView(epoch, 0));
    system.delete(other);
    system.delete(vm);
  }

  private record DiskLeaseView(Long epoch, int holders) {}

  /** Hole (g): a held lock stays while its disk's path fails to resolve; the grant has not ended. */
  @Test
  void aDiskWhosePathStopsResolvingKeepsItsLock() throws Exception {
    String real = system.disk(uniqueName("real") + ".img");
    Path link = system.disks.resolve(uniqueName("link") + ".img");
    Files.createSymbolicLink(link, Path.of(real));
    String vm = uniqueName("vm");
    SupervisedDomain domain = TestObjects.domain(system.apps, vm, system.node("a"),
        TestObjects.disk(link.toString(), AccessMode.Exclusive));
    domain.getSpec().command = List.of("/bin/sleep", "3600");
    system.create(domain);
    system.awaitRunning(vm, "a");
    assertThat(ForeignLock.canLock(real)).as("locked at the resolved target").isFalse();

    Files.delete(link); // the path stops resolving: a symlink being replaced, a device being re-plugged
    Await.until("the agent has noticed", LocalSystem.WAIT, () -> system.agent("a").log().contains(
        "event=resolution-failed") || "True".equals(statusOf(system.condition(vm, DomainConditions.REASON_PATH_NOT_ALLOWED))));
    // A lock dropped by mistake goes within a supervisor check or two (100 ms each) of the agent noticing: watch the
    // supervisor's state for a window of many checks.
    String uid = system.domain(vm).getMetadata().getUid();
    long windowEnd = System.nanoTime() + java.time.Duration.ofSeconds(2).toNanos();
    Await.until("the lock dropped, or a window of 20 supervisor checks passed", LocalSystem.WAIT,
        () -> system.supervisorState("a", uid).locks.isEmpty() || System.nanoTime() > windowEnd);
    assertThat(ForeignLock.canLock(real)).as("the lock is kept while the grant stands").isFalse();
    assertThat(system.supervisorState("a", system.domain(vm).getMetadata().getUid()).locks).hasSize(1);
    system.delete(vm);
  }

  private static String statusOf(Condition c) {
    return c == null ? null : c.getStatus();
  }
}
