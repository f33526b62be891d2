package io.lockwarden.e2e.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Unmodified libvirt 9.0 with {@code lock_manager = "lockd"} and lockwarden's node agent on its virtlockd socket:
 * real libvirtd, real QEMU, a real API server and operator. Two libvirt nodes (node-a, node-b), each a mount namespace
 * with its own libvirt and its agent inside it; node-c runs launched (CR-driven) domains. One set-up for the class.
 */
@ExtendWith(ControlPlaneExtension.class)
class LibvirtLockdIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern LOG_TIME = Pattern.compile("^(\\S+) .*");
  private static final Pattern COUNTER = Pattern.compile("LWCTR (\\d+) ");
  private static LocalSystem system;
  private static LibvirtLeases leases;
  private static Path base;
  private static LibvirtHost a;
  private static LibvirtHost b;

  @BeforeAll
  static void start(ControlPlane controlPlane) throws Exception {
    system = LocalSystem.start(controlPlane, "lockd", Map.of(), Map.of());
    leases = new LibvirtLeases(system);
    base = Path.of("target", "libvirt", "LibvirtLockdIT").toAbsolutePath();
    LibvirtHost.stopLeftover(base, "node-a");
    LibvirtHost.stopLeftover(base, "node-b");
    Files.createDirectories(base);
    System.out.println("[libvirt] accelerator: " + Accel.detect());
    CompletableFuture<LibvirtHost> startA =
        CompletableFuture.supplyAsync(() -> LibvirtHost.start(base, "node-a", 0, LockManager.LOCKD, false));
    CompletableFuture<LibvirtHost> startB =
        CompletableFuture.supplyAsync(() -> LibvirtHost.start(base, "node-b", 1, LockManager.LOCKD, false));
    try {
      a = startA.join();
    } finally {
      b = startB.join();
    }
    Files.createDirectories(both());
    Files.createDirectories(aOnly());
    String prefixes = base.resolve("shared") + "," + base.resolve("private") + "," + system.disks;
    // node-b's policy allows the shared disks under shared/both only: a disk under shared/a-only is one it refuses.
    String prefixesOfB = both() + "," + base.resolve("private") + "," + system.disks;
    for (LibvirtHost host : List.of(a, b)) {
      system.startAgent(shortName(host), system.kubeconfig(), Map.of("LOCKWARDEN_LOCKD_SOCKET",
          "/run/libvirt/virtlockd-sock", "LOCKWARDEN_LIBVIRT_NAMESPACE", system.apps,
          "LOCKWARDEN_ALLOWED_PATH_PREFIXES", host == a ? prefixes : prefixesOfB), host.enter());
    }
    system.startAgent("c", Map.of("LOCKWARDEN_ALLOWED_PATH_PREFIXES", prefixes));
    system.awaitNodesAlive(3);
  }

  @AfterAll
  static void stop() {
    for (LibvirtHost host : new LibvirtHost[] {a, b}) {
      if (host != null) {
        host.close();
      }
    }
    if (system != null) {
      system.close();
    }
  }

  /** Test 1: virsh start takes the DiskLease for this domain on this node, and the OFD lock is seen from outside. */
  @Test
  void virshStartHoldsTheDiskLeaseOnThisNodeAndLocksByteZero() throws Exception {
    String vm = TestObjects.uniqueName("start");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());

    a.startVm(vm).orThrow();

    LeaseHolder holder = leases.awaitHolder(disk, "a");
    SupervisedDomain domain = leases.domainOf(vm);
    assertThat(holder.domain).isEqualTo(system.apps + "/" + domain.getMetadata().getName());
    assertThat(holder.mode).isEqualTo(AccessMode.Exclusive);
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).as("an outsider's lock on byte 0 of %s", disk).isTrue();
    Await.until(vm + " shows QEMU's pid", WAIT, () -> {
      SupervisedDomain d = leases.domainOf(vm);
      return d.getStatus() != null && Long.valueOf(a.qemuPid(vm)).equals(d.getStatus().pid);
    });
    SupervisedDomain attached = leases.domainOf(vm);
    assertThat(attached.getStatus().node).isEqualTo(system.node("a"));
    assertThat(attached.getSpec().command).isNull();
    Await.until(vm + " says it is attached", WAIT, () -> {
      var c = system.condition(leases.domainOf(vm).getMetadata().getName(), DomainConditions.ATTACHED);
      return c != null && "True".equals(c.getStatus()) && c.getMessage().contains(Long.toString(a.qemuPid(vm)));
    });
    Await.until(vm + " shows its lease granted", WAIT, () -> {
      var granted = leases.domainOf(vm).getStatus().leases;
      return granted != null && granted.size() == 1
          && granted.get(0).state == io.lockwarden.api.v1alpha1.DomainLeaseState.Granted;
    });
    a.destroyVm(vm).orThrow();
  }

  /**
   * A libvirt domain declared in Git beforehand (same uuid, spec.attach) sets its policy: here, the one node it may run
   * on. A start elsewhere is refused with the reason; a start there uses the declared SupervisedDomain.
   */
  @Test
  void aDeclaredDomainsPlacementDecidesWhereLibvirtMayStartIt() throws Exception {
    String vm = TestObjects.uniqueName("declared");
    String uuid = java.util.UUID.randomUUID().toString();
    SupervisedDomain declared = new SupervisedDomain();
    declared.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(vm)
        .withNamespace(system.apps).build());
    declared.setSpec(new io.lockwarden.api.v1alpha1.SupervisedDomainSpec());
    declared.getSpec().uuid = uuid;
    declared.getSpec().attach = new io.lockwarden.api.v1alpha1.AttachSpec();
    declared.getSpec().placement = new io.lockwarden.api.v1alpha1.Placement();
    declared.getSpec().placement.nodeName = system.node("a");
    system.admin.resource(declared).create();
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    b.defineVm(TestVm.named(vm).uuid(uuid).disk(disk).build());
    a.defineVm(TestVm.named(vm).uuid(uuid).disk(disk).build());

    Result refused = b.startVm(vm);

    assertThat(refused.ok()).as("%s", refused).isFalse();
    assertThat(refused.stderr()).contains("SupervisedDomain " + system.apps + "/" + vm, "may not run on node "
        + system.node("b"));
    a.startVm(vm).orThrow();
    assertThat(leases.awaitHolder(disk, "a").domain).isEqualTo(system.apps + "/" + vm);
    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /** Test 3: virsh destroy, and kill -9 of QEMU, release everything. */
  @Test
  void destroyAndAKilledQemuReleaseEverything() throws Exception {
    String vm = TestObjects.uniqueName("end");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    leases.awaitHolder(disk, "a");

    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
    assertThat(OfdLocks.isBusy(disk, LockMode.WRITE)).isFalse();

    a.startVm(vm).orThrow();
    leases.awaitHolder(disk, "a");
    new ProcessBuilder("kill", "-9", Long.toString(a.qemuPid(vm))).start().waitFor();
    leases.awaitFree(disk);
  }

  /**
   * Test 4: one disk path, node-private files on node-a and node-b (two hosts' views of one cluster disk): the second
   * start fails with lockwarden's message naming the first domain and its node. And a launched domain holding a disk
   * refuses a libvirt domain too: both kinds share one arbitration.
   */
  @Test
  void aConflictAcrossNodesIsRefusedNamingTheHolder() throws Exception {
    String file = TestObjects.uniqueName("private") + ".qcow2";
    TestVm.qcow2(a.privateDir().resolve(file), "16M");
    TestVm.qcow2(b.privateDir().resolve(file), "16M");
    Path path = a.privatePath(file);
    String first = TestObjects.uniqueName("first");
    String second = TestObjects.uniqueName("second");
    a.defineVm(TestVm.named(first).disk(path).build());
    b.defineVm(TestVm.named(second).disk(path).build());
    a.startVm(first).orThrow();
    leases.awaitHolder(path, "a");

    Result refused = b.startVm(second);

    assertThat(refused.ok()).as("%s", refused).isFalse();
    assertThat(refused.stderr()).contains("held by SupervisedDomain " + system.apps + "/"
        + leases.domainOf(first).getMetadata().getName() + " on node " + system.node("a"));
    assertThat(b.domState(second)).isEqualTo("shut off");
    a.destroyVm(first).orThrow();

    Path shared = TestVm.raw(both().resolve(TestObjects.uniqueName("launched") + ".raw"), 1 << 20);
    LocalSystem.ownedByDomains(shared);
    String launched = TestObjects.uniqueName("launched");
    system.create(system.workload(launched, "c", new DomainDisk(shared.toString(), AccessMode.Exclusive)));
    system.awaitRunning(launched, "c");
    String vm = TestObjects.uniqueName("vm");
    a.defineVm(TestVm.named(vm).disk(shared, TestVm.Format.RAW, false).build());

    Result refusedByLaunched = a.startVm(vm);

    assertThat(refusedByLaunched.ok()).as("%s", refusedByLaunched).isFalse();
    assertThat(refusedByLaunched.stderr()).contains("held by SupervisedDomain " + system.key(launched) + " on node "
        + system.node("c"));
    system.delete(launched);
  }

  /**
   * Test 5: a live migration node-a → node-b over loopback. The VM keeps running, the lease moves to node-b with a
   * higher epoch, and node-a's agent recorded the release before node-b's agent acquired.
   */
  @Test
  void aLiveMigrationMovesTheLeaseWithAHigherEpoch() throws Exception {
    String vm = TestObjects.uniqueName("mig");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    long before = leases.awaitHolder(disk, "a").epoch;

    a.migrateLive(vm, b, WAIT).orThrow();

    assertThat(b.domState(vm)).isEqualTo("running");
    LeaseHolder after = leases.awaitHolder(disk, "b");
    assertThat(after.epoch).isGreaterThan(before);
    Await.until(vm + " placed on node-b", WAIT, () -> system.node("b").equals(leases.domainOf(vm).getStatus().node));
    Instant released = lastLogTime(system.agent("a").log(), "event=lockd-released", vm);
    Instant acquired = lastLogTime(system.agent("b").log(), "event=lockd-acquire ", vm);
    assertThat(released).as("node-a's release of %s", vm).isNotNull();
    assertThat(acquired).as("node-b's acquire of %s", vm).isNotNull().isAfter(released);
    String lease = leases.leaseOf(disk).getMetadata().getName();
    Await.until("a HandedOff Event on " + lease, WAIT, () -> system.admin.v1().events().inAnyNamespace().list()
        .getItems().stream().anyMatch(e -> lease.equals(e.getInvolvedObject().getName())
            && "HandedOff".equals(e.getReason()) && e.getMessage().contains("from " + system.node("a"))));
    Await.until("the hand-off is measured", WAIT, () -> system.operator().get("/metrics")
        .matches("(?s).*lockwarden_handoff_seconds_count [1-9].*"));
    b.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /** Test 2: virsh suspend releases every disk after QEMU stopped; resume takes them again, the same QEMU runs on. */
  @Test
  void suspendReleasesAndResumeAcquiresAgain() throws Exception {
    String vm = TestObjects.uniqueName("suspend");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    long epoch = leases.awaitHolder(disk, "a").epoch;
    long qemu = a.qemuPid(vm);

    a.virsh("suspend", vm).orThrow();
    leases.awaitFree(disk);
    assertThat(a.domState(vm)).isEqualTo("paused");

    a.virsh("resume", vm).orThrow();
    assertThat(leases.awaitHolder(disk, "a").epoch).isGreaterThan(epoch);
    assertThat(a.domState(vm)).isEqualTo("running");
    assertThat(a.qemuPid(vm)).isEqualTo(qemu);
    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /** Test 2: a SCSI hot-plug takes the new disk's lease before QEMU opens it; the unplug gives it back. */
  @Test
  void aScsiHotPlugAcquiresAndTheUnplugReleases() throws Exception {
    String vm = TestObjects.uniqueName("plug");
    Path root = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    Path extra = TestVm.qcow2(both().resolve(vm + "-extra.qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(root).build());
    a.startVm(vm).orThrow();
    leases.awaitHolder(root, "a");

    a.attachDisk(vm, extra, "sdb", TestVm.Format.QCOW2, false).orThrow();
    leases.awaitHolder(extra, "a");
    assertThat(OfdLocks.isBusy(extra, LockMode.READ)).isTrue();

    a.detachDisk(vm, "sdb").orThrow();
    leases.awaitFree(extra);
    assertThat(OfdLocks.isBusy(extra, LockMode.WRITE)).isFalse();
    assertThat(leases.leaseOf(root).getStatus().holders).extracting(h -> h.node).containsExactly(system.node("a"));
    a.destroyVm(vm).orThrow();
  }

  /**
   * Test 6: a migration whose target cannot take the disk (node-b's policy refuses its path): the target's acquire
   * fails after the source released, libvirt ends the target and the source takes the disk again and runs on.
   */
  @Test
  void aMigrationTheTargetCannotLockLeavesTheVmRunningOnNodeA() throws Exception {
    String vm = TestObjects.uniqueName("stay");
    Path disk = TestVm.qcow2(aOnly().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    long epoch = leases.awaitHolder(disk, "a").epoch;

    Result refused = a.migrateLive(vm, b, WAIT);

    assertThat(refused.ok()).as("%s", refused).isFalse();
    assertThat(a.domState(vm)).isEqualTo("running");
    assertThat(b.domState(vm)).isNull();
    assertThat(leases.awaitHolder(disk, "a").epoch).isGreaterThanOrEqualTo(epoch);
    assertThat(leases.leaseOf(disk).getStatus().holders).hasSize(1);
    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /** Test 8: a libvirtd restart changes nothing: same QEMU, same grant, same lock. */
  @Test
  void aLibvirtdRestartChangesNothing() throws Exception {
    String vm = TestObjects.uniqueName("restart");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "16M");
    a.defineVm(TestVm.named(vm).disk(disk).build());
    a.startVm(vm).orThrow();
    LeaseHolder before = leases.awaitHolder(disk, "a");
    long qemu = a.qemuPid(vm);

    a.restartLibvirtd();

    assertThat(a.domState(vm)).isEqualTo("running");
    assertThat(a.qemuPid(vm)).isEqualTo(qemu);
    LeaseHolder after = leases.awaitHolder(disk, "a");
    assertThat(after.epoch).isEqualTo(before.epoch);
    assertThat(after.grantedAt).isEqualTo(before.grantedAt);
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();
    a.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
  }

  /**
   * Test 10: a guest that writes. Debian's kernel and a busybox initramfs (e2e/libvirt/guest.sh) write an increasing
   * counter, kept in the guest's memory, to the raw blocks of their disk. Across a live migration node-a → node-b the
   * counter goes on from memory: on disk, one boot, no gap, no restart, no interleaving. KVM where the CPU has real
   * virtualization, else TCG (say which in the log); the guest is small enough for TCG in well under a minute.
   */
  @Test
  void aWritingGuestCountsOnAcrossALiveMigration() throws Exception {
    Path guest = buildGuest();
    String vm = TestObjects.uniqueName("guest");
    Path disk = TestVm.qcow2(both().resolve(vm + ".qcow2"), "64M");
    a.defineVm(TestVm.named(vm).accel(Accel.forGuest()).memoryMiB(128)
        .guest(guest.resolve("vmlinux"), guest.resolve("initrd.img"), "console=ttyS0 quiet").disk(disk).build());
    Path serial = base.resolve("vms").resolve(vm + ".serial");
    a.startVm(vm).orThrow();
    long before = leases.awaitHolder(disk, "a").epoch;
    Await.until(vm + " has written 20 records", Duration.ofMinutes(3), () -> lastCounter(serial) >= 20);

    a.migrateLive(vm, b, Duration.ofMinutes(2)).orThrow();
    long atMigration = lastCounter(serial);

    assertThat(b.domState(vm)).isEqualTo("running");
    assertThat(leases.awaitHolder(disk, "b").epoch).isGreaterThan(before);
    Await.until(vm + " writes on from node-b", Duration.ofMinutes(2), () -> lastCounter(serial) >= atMigration + 20);
    b.destroyVm(vm).orThrow();
    leases.awaitFree(disk);
    GuestDisk.Report report = GuestDisk.read(disk);
    assertThat(report.unbroken()).as(report.summary()).isTrue();
    assertThat(report.count()).isGreaterThanOrEqualTo((int) atMigration + 20);
  }

  // ---- helpers ----

  /** The guest's kernel and initramfs, built once per machine (the script is a no-op when they are current). */
  private static Path buildGuest() {
    Path dir = Path.of(System.getProperty("user.home"), ".cache", "lockwarden", "guest");
    Commands.run(Duration.ofMinutes(10), List.of("bash", LibvirtHost.SCRIPTS.resolve("guest.sh").toString(),
        dir.toString())).orThrow();
    return dir;
  }

  /** The last counter the guest printed on its serial console ("LWCTR n boot-id uptime"), or 0. */
  private static long lastCounter(Path serial) {
    try {
      if (!Files.exists(serial)) {
        return 0;
      }
      long last = 0;
      for (String line : Files.readAllLines(serial, java.nio.charset.StandardCharsets.ISO_8859_1)) {
        Matcher m = COUNTER.matcher(line);
        if (m.find()) {
          last = Math.max(last, Long.parseLong(m.group(1)));
        }
      }
      return last;
    } catch (java.io.IOException e) {
      return 0;
    }
  }

  /** Shared storage both nodes' policies allow. */
  private static Path both() {
    return base.resolve("shared").resolve("both");
  }

  /** Shared storage node-b's policy refuses. */
  private static Path aOnly() {
    return base.resolve("shared").resolve("a-only");
  }

  private static String shortName(LibvirtHost host) {
    return host.name().substring("node-".length());
  }

  /** The time of the last log line with {@code event} that names the libvirt domain {@code vm}. */
  private static Instant lastLogTime(String log, String event, String vm) {
    Instant last = null;
    for (String line : log.split("\n")) {
      if (line.contains(event) && line.contains("domain=" + system.apps + "/" + vm + "-")) {
        Matcher m = LOG_TIME.matcher(line);
        if (m.matches()) {
          last = Instant.parse(m.group(1));
        }
      }
    }
    return last;
  }
}
