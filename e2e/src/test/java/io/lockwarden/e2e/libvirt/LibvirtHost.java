package io.lockwarden.e2e.libvirt;

import io.lockwarden.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One libvirt node on this machine, run by {@code e2e/libvirt/node.sh}: a privileged libvirtd (and, if asked, the stock
 * virtlockd) in a mount namespace of its own, with private binds of {@code BASE/NAME/{etc,run,lib,cache,log}} over
 * libvirt's directories and of {@code BASE/NAME/private} over {@code BASE/private}; {@code BASE/shared} is the same for
 * every node. Nothing of the host's /etc/libvirt or /run/libvirt is used.
 *
 * <p>virsh runs in the test's own (root) namespace against {@link #uri()}; paths given to libvirt (disks, hot-plugged
 * images) are resolved by QEMU in the node's namespace, so {@code BASE/private/x} names that node's own file.
 */
public final class LibvirtHost implements AutoCloseable {
  /** The scripts' directory: e2e/libvirt (tests run with the e2e module as working directory). */
  public static final Path SCRIPTS = Path.of("libvirt").toAbsolutePath();
  public static final Duration VIRSH_DEADLINE = Duration.ofSeconds(60);
  private static final Duration SCRIPT_DEADLINE = Duration.ofSeconds(120);

  private final Path base;
  private final String name;
  private final int index;
  private final LockManager lockManager;
  private final boolean virtlockd;
  private final long holderPid;
  private boolean closed;

  private LibvirtHost(Path base, String name, int index, LockManager lockManager, boolean virtlockd, long holderPid) {
    this.base = base;
    this.name = name;
    this.index = index;
    this.lockManager = lockManager;
    this.virtlockd = virtlockd;
    this.holderPid = holderPid;
  }

  /**
   * Starts node {@code name} under {@code base} and returns once its libvirtd answers. {@code index} (0, 1, ...) must
   * differ between the nodes that run at once: it picks the node's migration_host 127.0.0.(2+index) and migration
   * ports 49152+100*index and up. A node of that name left running under {@code base} by an earlier, crashed run is
   * stopped first.
   */
  public static LibvirtHost start(Path base, String name, int index, LockManager lockManager, boolean startVirtlockd) {
    return start(base, name, index, lockManager, startVirtlockd, null);
  }

  /** As above, with {@code file_lockspace_dir} (indirect leases) in qemu-lockd.conf when {@code lockspaceDir} is set. */
  public static LibvirtHost start(Path base, String name, int index, LockManager lockManager, boolean startVirtlockd,
      Path lockspaceDir) {
    LibvirtHost host = startNamespace(base, name, index, lockManager, startVirtlockd, lockspaceDir);
    try {
      host.startLibvirtd();
    } catch (RuntimeException | AssertionError e) {
      host.close();
      throw e;
    }
    return host;
  }

  /**
   * The node without libvirtd yet: its namespace, its configuration and (if asked) the stock virtlockd. For a daemon
   * that must serve {@link #lockdSocket()} before libvirtd starts (with a {@code lockspaceDir}, libvirtd's QEMU driver
   * fails to start unless something answers there): start it with {@link #enter()}, then {@link #startLibvirtd()}.
   */
  public static LibvirtHost startNamespace(Path base, String name, int index, LockManager lockManager,
      boolean startVirtlockd, Path lockspaceDir) {
    Path abs = base.toAbsolutePath().normalize();
    script("stop", abs, name).orThrow();
    List<String> args = new ArrayList<>(List.of(Integer.toString(index), "--lock-manager", lockManager.confValue(),
        "--no-libvirtd"));
    if (startVirtlockd) {
      args.add("--virtlockd");
    }
    if (lockspaceDir != null) {
      args.addAll(List.of("--lockspace-dir", lockspaceDir.toString()));
    }
    Result started = script("start", abs, name, args.toArray(String[]::new));
    if (!started.ok()) {
      script("stop", abs, name); // whatever got started
      throw new AssertionError("libvirt node " + name + " did not start: " + started);
    }
    long holder = Long.parseLong(script("holder-pid", abs, name).orThrow().stdout().strip());
    return new LibvirtHost(abs, name, index, lockManager, startVirtlockd, holder);
  }

  /** Tears down node {@code name} under {@code base} if an earlier run left it running; a no-op otherwise. */
  public static void stopLeftover(Path base, String name) {
    script("stop", base.toAbsolutePath().normalize(), name).orThrow();
  }

  private static Result script(String command, Path base, String name, String... args) {
    List<String> line = new ArrayList<>(List.of("bash", SCRIPTS.resolve("node.sh").toString(), command,
        base.toString(), name));
    line.addAll(Arrays.asList(args));
    return Commands.run(SCRIPT_DEADLINE, line);
  }

  public String name() {
    return name;
  }

  public int index() {
    return index;
  }

  public LockManager lockManager() {
    return lockManager;
  }

  public boolean runsVirtlockd() {
    return virtlockd;
  }

  public Path base() {
    return base;
  }

  /** BASE/NAME: this node's own directories. */
  public Path dir() {
    return base.resolve(name);
  }

  /** The directory every node sees alike: BASE/shared. */
  public Path sharedDir() {
    return base.resolve("shared");
  }

  /** What this node's processes see as BASE/private (the root-namespace path of its host-local storage). */
  public Path privateDir() {
    return dir().resolve("private");
  }

  /** The path inside the node that names {@code file} of BASE/private: the same for every node. */
  public Path privatePath(String file) {
    return base.resolve("private").resolve(file);
  }

  /** libvirtd's and QEMU's logs: BASE/NAME/log (libvirtd.log, virtlockd.log, qemu/DOMAIN.log). */
  public Path logDir() {
    return dir().resolve("log");
  }

  /** The process holding the node's mount namespace. */
  public long holderPid() {
    return holderPid;
  }

  /** The prefix that runs a command inside this node's mount namespace (e.g. a lockd daemon serving lockdSocket). */
  public List<String> enter() {
    return List.of("nsenter", "--mount=/proc/" + holderPid + "/ns/mnt", "--");
  }

  /** Runs {@code command} inside the node's mount namespace. */
  public Result exec(Duration deadline, String... command) {
    List<String> line = new ArrayList<>(enter());
    line.addAll(Arrays.asList(command));
    return Commands.run(deadline, line);
  }

  /** The root-namespace path of the node's /run/libvirt/virtlockd-sock, where libvirt's lockd plugin connects. */
  public Path lockdSocket() {
    return dir().resolve("run").resolve("virtlockd-sock");
  }

  /** The root-namespace path of the node's libvirtd socket. */
  public Path libvirtSocket() {
    return dir().resolve("run").resolve("libvirt-sock");
  }

  /** The node's libvirt URI, usable from any namespace (as {@code virsh migrate} on another node needs it). */
  public String uri() {
    return "qemu+unix:///system?socket=" + libvirtSocket();
  }

  /** virsh against this node, within {@link #VIRSH_DEADLINE}. */
  public Result virsh(String... args) {
    return virsh(VIRSH_DEADLINE, args);
  }

  public Result virsh(Duration deadline, String... args) {
    List<String> line = new ArrayList<>(List.of("virsh", "-c", uri()));
    line.addAll(Arrays.asList(args));
    return Commands.run(deadline, line);
  }

  /** Waits, up to 60 s, until libvirtd answers. */
  public void waitReady() {
    Await.until("libvirtd of " + name + " answers", Duration.ofSeconds(60),
        () -> virsh(Duration.ofSeconds(10), "version").ok());
  }

  /** Starts libvirtd (after {@link #startNamespace} or {@link #stopLibvirtd()}) and waits until it answers. */
  public void startLibvirtd() {
    script("start-libvirtd", base, name).orThrow();
    waitReady();
  }

  /** Stops libvirtd (SIGTERM: its domains run on, and so does whatever serves the lockd socket). */
  public void stopLibvirtd() {
    script("stop-libvirtd", base, name).orThrow();
  }

  /** Stops libvirtd (SIGTERM: its domains run on) and starts it again, then waits until it answers. */
  public void restartLibvirtd() {
    script("restart-libvirtd", base, name).orThrow();
    waitReady();
  }

  public long libvirtdPid() {
    return pidFile(dir().resolve("run/libvirtd.pid"));
  }

  /** The stock virtlockd's pid (only with startVirtlockd). */
  public long virtlockdPid() {
    return pidFile(dir().resolve("run/virtlockd.pid"));
  }

  /** The QEMU process of a running domain (libvirt's /run/libvirt/qemu/DOMAIN.pid). */
  public long qemuPid(String domain) {
    return pidFile(dir().resolve("run/qemu").resolve(domain + ".pid"));
  }

  private static long pidFile(Path file) {
    try {
      return Long.parseLong(Files.readString(file).strip());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- domains ----

  /** Writes the domain's XML to BASE/vms (its serial file beside it) and defines it (persistent, not started). */
  public Result defineVm(TestVm vm) {
    return virsh("define", vm.writeXml(base.resolve("vms")).toString()).orThrow();
  }

  /** Creates and starts a transient domain from {@code vm}'s XML; the result says whether it started. */
  public Result createVm(TestVm vm) {
    return virsh("create", vm.writeXml(base.resolve("vms")).toString());
  }

  /** {@code virsh start}; the result says whether it started. */
  public Result startVm(String domain) {
    return virsh("start", domain);
  }

  /** {@code virsh destroy} (a hard power-off); the result says whether it was running. */
  public Result destroyVm(String domain) {
    return virsh("destroy", domain);
  }

  /** {@code virsh domstate}: "running", "paused", "shut off", ..., or null if this node has no such domain. */
  public String domState(String domain) {
    Result r = virsh(Duration.ofSeconds(30), "domstate", domain);
    return r.ok() ? r.stdout().strip() : null;
  }

  /**
   * {@code virsh migrate --live --unsafe DOMAIN TARGET-URI}, run against this (source) node; libvirt takes the
   * target's migration_host. The result says whether it migrated.
   */
  public Result migrateLive(String domain, LibvirtHost target, Duration deadline) {
    return virsh(deadline, "migrate", "--live", "--unsafe", domain, target.uri());
  }

  /**
   * Hot-plugs {@code image} into the running domain as SCSI disk {@code target} ({@code virsh attach-disk --live
   * --targetbus scsi}). With lock_manager=lockd libvirt acquires its lease before QEMU opens it.
   */
  public Result attachDisk(String domain, Path image, String target, TestVm.Format format, boolean shareable) {
    List<String> args = new ArrayList<>(List.of("attach-disk", domain, image.toString(), target, "--live",
        "--targetbus", "scsi", "--subdriver", format.driverType()));
    if (shareable) {
      args.addAll(List.of("--mode", "shareable"));
    }
    return virsh(args.toArray(String[]::new));
  }

  /** Hot-unplugs SCSI disk {@code target} ({@code virsh detach-disk --live}); completes without the guest's help. */
  public Result detachDisk(String domain, String target) {
    return virsh("detach-disk", domain, target, "--live");
  }

  /**
   * Tears the node down: every process in its namespace (domains, libvirtd, virtlockd and anything entered into it)
   * is killed, then the holder; its mounts go with the namespace. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (!closed) {
      script("stop", base, name).orThrow();
      closed = true;
    }
  }

  @Override
  public String toString() {
    return "libvirt node " + name + " (index " + index + ", lock_manager=" + lockManager.confValue()
        + (virtlockd ? ", virtlockd" : "") + ", holder " + holderPid + ", " + Objects.toString(dir()) + ")";
  }
}
