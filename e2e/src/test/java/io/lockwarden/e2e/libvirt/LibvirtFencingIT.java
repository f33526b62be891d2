package io.lockwarden.e2e.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * libvirt's QEMU when its node agent is down, killed or hung (issue #14, tests 7 and 9): one libvirt node (node-a) with
 * its agent inside it, and node-c for a launched domain that wants the same disk. fenceTimeout 20 s (time for a
 * killed agent to come back even on a busy machine, where a JVM start has taken 10 s), operator nodeTimeout 22 s +
 * grace 1 s (TIME-2: 20.2 s &lt; 23 s), and pauseTimeout 1 s, so that a hung agent's QEMU is paused at 20 s and killed
 * at 21 s, before its grant may move at 23 s.
 */
@ExtendWith(ControlPlaneExtension.class)
class LibvirtFencingIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String SOCKET = "/run/libvirt/virtlockd-sock";
  private static LocalSystem system;
  private static LibvirtLeases leases;
  private static Path base;
  private static LibvirtHost a;
  private static Map<String, String> agentEnv;

  @BeforeAll
  static void start(ControlPlane controlPlane) throws Exception {
    Map<String, String> timing = Map.of("LOCKWARDEN_RENEW_INTERVAL", "1s", "LOCKWARDEN_FENCE_TIMEOUT", "20s",
        "LOCKWARDEN_PAUSE_TIMEOUT", "1s");
    system = LocalSystem.start(controlPlane, "lvfence", Map.of("LOCKWARDEN_NODE_TIMEOUT", "22s", "LOCKWARDEN_GRACE", "1s"),
        timing);
    leases = new LibvirtLeases(system);
    base = Path.of("target", "libvirt", "LibvirtFencingIT").toAbsolutePath();
    LibvirtHost.stopLeftover(base, "node-a");
    a = LibvirtHost.start(base, "node-a", 2, LockManager.LOCKD, false);
    Files.createDirectories(shared());
    agentEnv = Map.of("LOCKWARDEN_LOCKD_SOCKET", SOCKET, "LOCKWARDEN_LIBVIRT_NAMESPACE", system.apps,
        "LOCKWARDEN_ALLOWED_PATH_PREFIXES", shared() + "," + system.disks);
    startAgentA();
    system.startAgent("c", Map.of("LOCKWARDEN_ALLOWED_PATH_PREFIXES", shared() + "," + system.disks));
    system.awaitNodesAlive(2);
  }

  @AfterAll
  static void stop() {
    if (a != null) {
      a.close();
    }
    if (system != null) {
      system.close();
    }
  }

  /** Test 7: with the agent down, virsh names the socket it could not reach; once the agent is back, it starts. */
  @Test
  void withTheAgentDownVirshNamesTheSocket() throws Exception {
    String vm = TestObjects.uniqueName("down");
    Path disk = TestVm.qcow2(shared().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());

    system.agent("a").kill();
    Result refused;
    try {
      refused = a.startVm(vm);
    } finally {
      startAgentA();
    }

    assertThat(refused.ok()).as("%s", refused).isFalse();
    assertThat(refused.stderr()).contains(SOCKET);
    a.startVm(vm).orThrow();
    leases.awaitHolder(disk, "a");
    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /**
   * Test 7: an agent SIGKILLed and restarted while QEMU runs stops nothing, and a later QEMU exit still releases the
   * disk (the restarted agent's supervisor, adopted, watches QEMU's pid: the lifetime connection died with the agent).
   */
  @Test
  void anAgentKilledAndRestartedWhileQemuRunsStopsNothingAndStillReleases() throws Exception {
    String vm = TestObjects.uniqueName("steady");
    Path disk = TestVm.qcow2(shared().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    LeaseHolder before = leases.awaitHolder(disk, "a");
    long qemu = a.qemuPid(vm);
    String uid = leases.domainOf(vm).getMetadata().getUid();

    system.agent("a").kill();
    startAgentA();

    assertThat(a.domState(vm)).isEqualTo("running");
    assertThat(a.qemuPid(vm)).isEqualTo(qemu);
    assertThat(Signals.stopped(qemu)).isFalse();
    SupervisorState state = system.supervisorState("a", uid);
    assertThat(state.pauses).as("pauses of %s while its agent was away", vm).isZero();
    assertThat(leases.awaitHolder(disk, "a").epoch).isEqualTo(before.epoch);
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();

    new ProcessBuilder("kill", "-9", Long.toString(qemu)).start().waitFor();
    leases.awaitFree(disk);
  }

  /**
   * Test 9: the agent SIGSTOPped past fenceTimeout: its QEMU is paused, then killed at pauseTimeout, and only then is
   * its disk granted elsewhere (to a launched domain on node-c that asked for it meanwhile).
   */
  @Test
  void aHungAgentsQemuIsPausedThenKilledBeforeItsDiskIsGrantedElsewhere() throws Exception {
    String vm = TestObjects.uniqueName("hung");
    Path disk = TestVm.qcow2(shared().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    leases.awaitHolder(disk, "a");
    long qemu = a.qemuPid(vm);
    String waiting = TestObjects.uniqueName("next");
    LocalSystem.ownedByDomains(disk);

    system.agent("a").freeze();
    try {
      system.create(system.workload(waiting, "c", new DomainDisk(disk.toString(), AccessMode.Exclusive)));
      Await.until("QEMU " + qemu + " paused", WAIT, () -> Signals.stopped(qemu) || !Signals.alive(qemu));
      Instant paused = Instant.now();
      Await.until("QEMU " + qemu + " killed", WAIT, () -> !Signals.alive(qemu));
      Instant killed = Instant.now();
      LeaseHolder next = leases.awaitHolder(disk, "c");

      assertThat(Instant.parse(next.grantedAt)).as("the grant to node-c (QEMU paused by %s, gone by %s)", paused,
          killed).isAfter(paused);
      assertThat(Instant.parse(next.grantedAt)).as("the grant to node-c after QEMU died (seen by %s)", killed)
          .isAfter(killed.minusMillis(250));
      system.awaitRunning(waiting, "c");
    } finally {
      system.agent("a").thaw();
    }
    system.delete(waiting);
  }

  // ---- helpers ----

  private static void startAgentA() {
    system.startAgent("a", system.kubeconfig(), agentEnv, a.enter());
  }

  private static Path shared() {
    return base.resolve("shared");
  }

}
