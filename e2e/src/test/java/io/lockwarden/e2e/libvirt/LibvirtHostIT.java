package io.lockwarden.e2e.libvirt;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two real libvirt nodes on this machine with the STOCK virtlockd (lock_manager=lockd), before any lockwarden code:
 * what libvirt and virtlockd do on their own, and the gap lockwarden closes. Each node is a mount namespace with its
 * own /etc/libvirt, /run/libvirt, ... and its own BASE/private; BASE/shared is shared storage.
 */
class LibvirtHostIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static Path base;
  private static LibvirtHost a;
  private static LibvirtHost b;

  @BeforeAll
  static void startTwoNodes() throws IOException {
    base = Path.of("target", "libvirt", "LibvirtHostIT").toAbsolutePath();
    LibvirtHost.stopLeftover(base, "node-a");
    LibvirtHost.stopLeftover(base, "node-b");
    deleteTree(base);
    Accel.detect();
    long t0 = System.nanoTime();
    CompletableFuture<LibvirtHost> startA =
        CompletableFuture.supplyAsync(() -> LibvirtHost.start(base, "node-a", 0, LockManager.LOCKD, true));
    CompletableFuture<LibvirtHost> startB =
        CompletableFuture.supplyAsync(() -> LibvirtHost.start(base, "node-b", 1, LockManager.LOCKD, true));
    try {
      a = startA.join();
    } finally {
      b = startB.join();
    }
    System.out.printf("[libvirt] two nodes started in %d ms: %s; %s%n", (System.nanoTime() - t0) / 1_000_000, a, b);
  }

  @AfterAll
  static void stopNodes() {
    for (LibvirtHost host : new LibvirtHost[] {a, b}) {
      if (host != null) {
        host.close();
      }
    }
  }

  @Test
  void stockVirtlockdLocksByte0OfAStartedDiskAndTheLockFollowsALiveMigration() throws IOException {
    Path disk = TestVm.qcow2(a.sharedDir().resolve("vm1.qcow2"), "16M");
    Path data = TestVm.raw(a.sharedDir().resolve("vm1-data.raw"), 16 << 20);
    a.defineVm(TestVm.named("vm1").disk(disk).sharedDisk(data).build());
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).as("nothing holds %s before the start", disk).isFalse();

    long t0 = System.nanoTime();
    a.startVm("vm1").orThrow();
    System.out.printf("[libvirt] virsh start vm1 (%s) took %d ms%n", Accel.detect(), (System.nanoTime() - t0) / 1_000_000);
    assertThat(a.domState("vm1")).isEqualTo("running");

    // virtlockd of node-a: a classic POSIX write lock on byte 0 of the exclusive disk, a read lock on the shareable one;
    // an outsider's lock is refused.
    assertThat(FileLocks.onByte0(disk)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", a.virtlockdPid(), 0, "0"));
    assertThat(FileLocks.onByte0(data)).containsExactly(new FileLocks.Lock("POSIX", "READ", a.virtlockdPid(), 0, "0"));
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();
    assertThat(OfdLocks.tryLock(disk, LockMode.WRITE)).as("an outsider's write lock on byte 0").isNull();
    assertThat(OfdLocks.isBusy(data, LockMode.READ)).as("a reader may join a shareable disk").isFalse();
    assertThat(OfdLocks.isBusy(data, LockMode.WRITE)).isTrue();
    // QEMU's own OFD locks are there too (bytes 100 and up), and not on byte 0.
    assertThat(FileLocks.on(disk)).anyMatch(l -> l.kind().equals("OFDLCK") && l.start() >= 100);

    t0 = System.nanoTime();
    a.migrateLive("vm1", b, Duration.ofSeconds(120)).orThrow();
    long migrationMs = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("[libvirt] live migration of vm1 node-a -> node-b (%s) took %d ms%n", Accel.detect(), migrationMs);

    assertThat(b.domState("vm1")).isEqualTo("running");
    assertThat(a.domState("vm1")).as("the persistent definition stays on the source, stopped").isEqualTo("shut off");
    assertThat(FileLocks.onByte0(disk)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", b.virtlockdPid(), 0, "0"));
    assertThat(FileLocks.onByte0(data)).containsExactly(new FileLocks.Lock("POSIX", "READ", b.virtlockdPid(), 0, "0"));

    b.destroyVm("vm1").orThrow();
    // QEMU's exit closes the lifetime connection: virtlockd lets go.
    Await.until("byte 0 of " + disk + " is free after the destroy", WAIT, () -> FileLocks.onByte0(disk).isEmpty());
  }

  @Test
  void hotPlugTakesTheLockAndHotUnplugReleasesIt() {
    Path root = TestVm.qcow2(a.sharedDir().resolve("hot-root.qcow2"), "16M");
    Path extra = TestVm.qcow2(a.sharedDir().resolve("hot-extra.qcow2"), "16M");
    a.createVm(TestVm.named("vm-hot").disk(root).build()).orThrow();
    assertThat(FileLocks.onByte0(extra)).isEmpty();

    a.attachDisk("vm-hot", extra, "sdb", TestVm.Format.QCOW2, false).orThrow();
    assertThat(FileLocks.onByte0(extra)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", a.virtlockdPid(), 0, "0"));
    assertThat(a.virsh("domblklist", "vm-hot").orThrow().stdout()).contains("sdb", extra.toString());

    a.detachDisk("vm-hot", "sdb").orThrow();
    Await.until("sdb leaves vm-hot", WAIT, () -> !a.virsh("domblklist", "vm-hot").orThrow().stdout().contains("sdb"));
    Await.until("byte 0 of " + extra + " is free after the unplug", WAIT, () -> FileLocks.onByte0(extra).isEmpty());
    assertThat(FileLocks.onByte0(root)).hasSize(1);
    a.destroyVm("vm-hot").orThrow();
  }

  @Test
  void aDomainRunsOnAcrossARestartOfLibvirtdAndKeepsItsLock() {
    Path disk = TestVm.qcow2(b.sharedDir().resolve("restart.qcow2"), "16M");
    b.createVm(TestVm.named("vm-restart").disk(disk).build()).orThrow();
    long qemu = b.qemuPid("vm-restart");
    long libvirtd = b.libvirtdPid();

    long t0 = System.nanoTime();
    b.restartLibvirtd();
    System.out.printf("[libvirt] libvirtd restart on node-b took %d ms%n", (System.nanoTime() - t0) / 1_000_000);

    assertThat(b.libvirtdPid()).isNotEqualTo(libvirtd);
    assertThat(b.domState("vm-restart")).isEqualTo("running");
    assertThat(b.qemuPid("vm-restart")).isEqualTo(qemu);
    assertThat(FileLocks.onByte0(disk)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", b.virtlockdPid(), 0, "0"));
    b.destroyVm("vm-restart").orThrow();
  }

  /**
   * The gap lockwarden closes. One disk path, BASE/private/same.qcow2, is a different file on each node (host-local
   * storage standing for one cluster resource): each stock virtlockd has its own lock table, so both nodes start a
   * domain on it. With lockwarden serving virtlockd-sock the second start must be refused: flip this assertion then.
   */
  @Test
  void twoNodesBothStartTheSameDiskPathUnderStockVirtlockd() throws IOException {
    Path inside = a.privatePath("same.qcow2");
    assertThat(inside).isEqualTo(b.privatePath("same.qcow2"));
    Path fileOfA = TestVm.qcow2(a.privateDir().resolve("same.qcow2"), "16M");
    Path fileOfB = TestVm.qcow2(b.privateDir().resolve("same.qcow2"), "16M");

    // The same path names each node's own file: what a process inside each namespace sees.
    for (LibvirtHost host : List.of(a, b)) {
      host.exec(Duration.ofSeconds(10), "sh", "-c", "echo " + host.name() + " > " + host.privatePath("who")).orThrow();
      assertThat(Files.readString(host.privateDir().resolve("who")).strip()).isEqualTo(host.name());
      assertThat(host.exec(Duration.ofSeconds(10), "ls", "/run/libvirt").orThrow().stdout())
          .contains("libvirt-sock", "virtlockd-sock");
    }
    assertThat(Files.exists(base.resolve("private/who"))).as("nothing lands in the root namespace's BASE/private")
        .isFalse();

    Result onA = a.createVm(TestVm.named("vm-same-a").disk(inside).build());
    Result onB = b.createVm(TestVm.named("vm-same-b").disk(inside).build());
    System.out.printf("[libvirt] stock virtlockd, disk %s on both nodes: node-a %s, node-b %s%n", inside,
        onA.ok() ? "started" : "refused", onB.ok() ? "started" : "refused");

    // Recorded fact (stock virtlockd): both start, each node's virtlockd locking its own file.
    assertThat(onA.ok()).as("%s", onA).isTrue();
    assertThat(onB.ok()).as("%s", onB).isTrue();
    assertThat(a.domState("vm-same-a")).isEqualTo("running");
    assertThat(b.domState("vm-same-b")).isEqualTo("running");
    assertThat(FileLocks.onByte0(fileOfA)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", a.virtlockdPid(), 0, "0"));
    assertThat(FileLocks.onByte0(fileOfB)).containsExactly(new FileLocks.Lock("POSIX", "WRITE", b.virtlockdPid(), 0, "0"));
    a.destroyVm("vm-same-a").orThrow();
    b.destroyVm("vm-same-b").orThrow();
  }

  /**
   * The way lockwarden's agent will serve a node: a foreground daemon started inside the node's namespace with {@code
   * enter()}, before libvirtd, here the stock virtlockd; with file_lockspace_dir libvirtd needs it at start
   * (CREATE_LOCKSPACE), and the lock is on the lockspace's file named by the disk path's SHA-256.
   */
  @Test
  void aDaemonEnteredIntoTheNamespaceServesTheLockdSocketBeforeLibvirtdStarts() throws Exception {
    Path lockspace = Files.createDirectories(base.resolve("lockspace-c"));
    try (LibvirtHost c = LibvirtHost.startNamespace(base, "node-c", 2, LockManager.LOCKD, false, lockspace)) {
      List<String> command = new java.util.ArrayList<>(c.enter());
      command.addAll(List.of("/usr/sbin/virtlockd", "-f", "/etc/libvirt/virtlockd.conf"));
      Process daemon = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(c.logDir().resolve("entered-virtlockd.stdio").toFile()).start();
      Await.until("virtlockd serves " + c.lockdSocket(), WAIT, () -> Files.exists(c.lockdSocket()));
      c.startLibvirtd();

      Path disk = TestVm.qcow2(c.sharedDir().resolve("lockspace.qcow2"), "16M");
      c.createVm(TestVm.named("vm-lockspace").disk(disk).build()).orThrow();
      String hash = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(disk.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      assertThat(FileLocks.onByte0(lockspace.resolve(hash)))
          .containsExactly(new FileLocks.Lock("POSIX", "WRITE", daemon.pid(), 0, "0"));
      assertThat(FileLocks.onByte0(disk)).as("indirect mode: the image itself is not locked").isEmpty();
      c.destroyVm("vm-lockspace").orThrow();
      c.close();
      assertThat(daemon.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)).as("close() ends what was entered").isTrue();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
