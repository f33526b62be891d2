package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.libvirt.Accel;
import io.lockwarden.e2e.libvirt.LibvirtHost;
import io.lockwarden.e2e.libvirt.LockManager;
import io.lockwarden.e2e.libvirt.Result;
import io.lockwarden.e2e.libvirt.TestVm;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.Stats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * libvirt live migration with and without lockwarden, in one run: QEMU's downtime and the migration's total time for N
 * live migrations ({@code virsh migrate --live --unsafe}) of one QEMU back and forth between two libvirt nodes with
 * {@code lock_manager = "nop"}, and N of another between two libvirt nodes with {@code lock_manager = "lockd"} served
 * by lockwarden's agents (a real control plane and operator, agents at their default timeouts), interleaved (nop, lockd,
 * nop, ...) so that the machine's load weighs on both alike. The downtime is libvirt's "Total downtime" of the
 * completed job ({@code virsh domjobinfo --completed} on the source): from the source's CPUs stopping at switch-over to
 * the target's running again, which brackets the source's RELEASE and the target's ACQUIRE. Each lockd migration is
 * then taken apart from the agents', the operator's and the supervisor's log lines. Writes
 * target/bench/libvirt-migration.md. Run by e2e/bench-libvirt.sh and e2e/bench.sh (item h), never as a test; needs
 * root and e2e/libvirt/install.sh.
 */
public final class LibvirtMigrationBenchmark {
  private static final int MIGRATIONS = Integer.getInteger("migrations", 30);
  private static final int WARMUP = Integer.getInteger("warmup", 2);
  private static final int BASELINE_UPDATES = Integer.getInteger("updates", 100);
  /** Node indices (migration addresses 127.0.0.(2+i), ports 49152+100*i): clear of the tests' and local-cluster's. */
  private static final int INDEX = Integer.getInteger("libvirtIndex", 20);
  private static final Duration MIGRATE_DEADLINE = Duration.ofSeconds(120);
  private static final Pattern DOWNTIME = Pattern.compile("(?m)^Total downtime:\\s+(\\d+)\\s+ms");
  private static final Pattern TIME = Pattern.compile("^(\\S+Z) ");
  private static final Pattern CALL_MS = Pattern.compile(" result=(\\w+).* ms=(\\d+)\\s*$");

  private LibvirtMigrationBenchmark() {}

  /** One migration's measurements (ms); the lockd parts are NaN for nop or when a log line was not found. */
  record Migration(double downtime, double total, double release, double releaseToAcquire, double acquire,
      double toGranted, double grantedToHotPlug, double hotPlugToLocked, double lockedToReply, double handOffGap,
      double supervisorStart, boolean supervisorLate, boolean leaseRecreated) {}

  public static void main(String[] args) throws Exception {
    long start = System.nanoTime();
    Path base = Path.of("target", "lvb").toAbsolutePath(); // short: unix sockets live under it
    List<String> names = List.of("nop-a", "nop-b", "lk-a", "lk-b");
    for (String name : names) {
      LibvirtHost.stopLeftover(base, name);
    }
    // A fresh start: an earlier run's domain definitions (BASE/NODE/etc) and disks would be in the way.
    if (Files.exists(base)) {
      try (var paths = Files.walk(base)) {
        for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(base);
    progress("accelerator: " + Accel.detect() + "; " + MIGRATIONS + " migrations each (after " + WARMUP
        + " warm-up), nop and lockd interleaved");
    List<LibvirtHost> hosts = new ArrayList<>();
    try (ControlPlane controlPlane = ControlPlane.start()) {
      progress("baseline: " + BASELINE_UPDATES + " status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(controlPlane.admin(), BASELINE_UPDATES);
      progress("starting four libvirt nodes (two nop, two lockd), the operator and two agents inside the lockd nodes");
      try (LocalSystem system = LocalSystem.start(controlPlane, "lvbench", Map.of(), Map.of())) {
        CompletableFuture<LibvirtHost> nopA = CompletableFuture.supplyAsync(
            () -> LibvirtHost.start(base, "nop-a", INDEX, LockManager.NOP, false));
        CompletableFuture<LibvirtHost> nopB = CompletableFuture.supplyAsync(
            () -> LibvirtHost.start(base, "nop-b", INDEX + 1, LockManager.NOP, false));
        LibvirtHost lkA = LibvirtHost.startNamespace(base, "lk-a", INDEX + 2, LockManager.LOCKD, false, null);
        hosts.add(lkA);
        LibvirtHost lkB = LibvirtHost.startNamespace(base, "lk-b", INDEX + 3, LockManager.LOCKD, false, null);
        hosts.add(lkB);
        hosts.add(nopA.join());
        hosts.add(nopB.join());
        String prefixes = base.resolve("shared") + "," + base.resolve("private") + "," + system.disks;
        for (var host : List.of(Map.entry("a", lkA), Map.entry("b", lkB))) {
          // The agent serves the node's /run/libvirt/virtlockd-sock before libvirtd starts.
          system.startAgent(host.getKey(), system.kubeconfig(), Map.of("LOCKWARDEN_LOCKD_SOCKET",
              "/run/libvirt/virtlockd-sock", "LOCKWARDEN_LIBVIRT_NAMESPACE", system.apps,
              "LOCKWARDEN_ALLOWED_PATH_PREFIXES", prefixes), host.getValue().enter());
        }
        system.awaitNodesAlive(2);
        lkA.startLibvirtd();
        lkB.startLibvirtd();

        Run nop = new Run(null, nopA.join(), nopB.join(), "nopvm");
        Run lockd = new Run(system, lkA, lkB, "lkvm");
        nop.startVm();
        lockd.startVm();
        progress(String.format("VMs running (%.0f s after start); %d warm-up migrations each", (System.nanoTime() - start)
            / 1e9, WARMUP));
        for (int i = 0; i < WARMUP; i++) {
          nop.migrate();
          lockd.migrate();
        }
        nop.failures.clear();
        lockd.failures.clear();
        List<Migration> nops = new ArrayList<>();
        List<Migration> lockds = new ArrayList<>();
        // N that succeeded of each; a failed one is counted, the VM brought back to running, and the next one tried.
        while (lockds.size() < MIGRATIONS || nops.size() < MIGRATIONS) {
          if (nop.failures.size() + lockd.failures.size() > MIGRATIONS) {
            throw new AssertionError("more failed migrations than the " + MIGRATIONS + " asked for: nop "
                + nop.failures + ", lockd " + lockd.failures);
          }
          Migration n = nops.size() < MIGRATIONS ? nop.migrate() : null;
          Migration l = lockds.size() < MIGRATIONS ? lockd.migrate() : null;
          if (n != null) {
            nops.add(n);
          }
          if (l != null) {
            lockds.add(l);
            if (lockds.size() % 5 == 0 || lockds.size() == MIGRATIONS) {
              progress(String.format("%d of %d lockd (%d failed), %d nop; last downtime lockd %.0f ms (release %.0f, "
                  + "acquire %.0f)%s", lockds.size(), MIGRATIONS, lockd.failures.size(), nops.size(), l.downtime(),
                  l.release(), l.acquire(), nops.isEmpty() ? "" : String.format(", nop %.0f ms",
                      nops.get(nops.size() - 1).downtime())));
            }
          }
        }
        BenchReport.write("libvirt-migration", report(nops, lockds, nop.failures, lockd.failures, baseline));
      } finally {
        for (LibvirtHost host : hosts) {
          host.close();
        }
      }
    }
    progress(String.format("done in %.0f s", (System.nanoTime() - start) / 1e9));
  }

  /** One VM migrating back and forth between two nodes; with {@code system} (lockd), its log lines taken apart. */
  private static final class Run {
    private final LocalSystem system;
    private final LibvirtHost[] nodes;
    private final String vm;
    private final Path disk;
    private int on;
    /** Migrations that failed: when, and virsh's error. */
    final List<String> failures = new ArrayList<>();

    Run(LocalSystem system, LibvirtHost a, LibvirtHost b, String vm) {
      this.system = system;
      this.nodes = new LibvirtHost[] {a, b};
      this.vm = vm;
      this.disk = TestVm.qcow2(a.sharedDir().resolve(vm + ".qcow2"), "16M");
    }

    /**
     * Defined (persistent) on both nodes, started on the first: a migration leaves the source's definition in place (shut
     * off), so that {@code domjobinfo --completed} can still be asked there; a transient domain would be gone.
     */
    void startVm() {
      nodes[0].defineVm(TestVm.named(vm).disk(disk).build());
      // The second definition from the first's XML: the same uuid, which libvirt requires of a migration's target.
      Path xml = nodes[0].base().resolve("vms").resolve(vm + ".defined.xml");
      try {
        Files.writeString(xml, nodes[0].virsh("dumpxml", vm).orThrow().stdout());
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      nodes[1].virsh("define", xml.toString()).orThrow();
      nodes[0].startVm(vm).orThrow();
      if (system != null) {
        settled(0);
      }
    }

    Migration migrate() {
      LibvirtHost source = nodes[on];
      LibvirtHost target = nodes[1 - on];
      Instant from = Instant.now();
      long t0 = System.nanoTime();
      Result migrated = source.migrateLive(vm, target, MIGRATE_DEADLINE);
      double total = (System.nanoTime() - t0) / 1e6;
      if (!migrated.ok()) {
        String error = migrated.stderr().strip().replaceAll("\\s+", " ");
        failures.add(from + " " + source.name() + " → " + target.name() + ": " + error);
        progress("migration of " + vm + " from " + source.name() + " to " + target.name() + " failed: " + error);
        recover(source);
        return null;
      }
      Result job = source.virsh("domjobinfo", "--completed", vm).orThrow();
      Instant to = Instant.now();
      Matcher m = DOWNTIME.matcher(job.stdout());
      if (!m.find()) {
        throw new AssertionError("no Total downtime in domjobinfo --completed: " + job);
      }
      double downtime = Double.parseDouble(m.group(1));
      String running = target.domState(vm);
      if (!"running".equals(running)) {
        throw new AssertionError(vm + " is " + running + " on " + target.name() + " after the migration");
      }
      on = 1 - on;
      if (system == null) {
        return new Migration(downtime, total, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN, Double.NaN, false, false);
      }
      SupervisedDomain domain = settled(on);
      return takeApart(downtime, total, from, to, shortName(source), shortName(target), domain);
    }

    private static String shortName(LibvirtHost host) {
      return host.name().substring("lk-".length());
    }

    /** After a failed migration: the VM running again on {@code source} (resumed, or started anew). */
    private void recover(LibvirtHost source) {
      String state = Await.value(vm + " running again on " + source.name(), Duration.ofSeconds(120), () -> {
        String now = source.domState(vm);
        if ("running".equals(now)) {
          return now;
        }
        if ("paused".equals(now)) {
          source.virsh("resume", vm);
        } else if (now == null || now.startsWith("shut off")) {
          source.startVm(vm);
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        return null;
      });
      progress(vm + " is " + state + " on " + source.name() + " again");
      if (system != null) {
        settled(on);
      }
    }

    /** Waits (untimed) until the lease lists only the VM's node and its domain is placed there. */
    private SupervisedDomain settled(int index) {
      String node = system.node(shortName(nodes[index]));
      return Await.value(vm + " settled on " + node, Duration.ofSeconds(60), () -> {
        SupervisedDomain d = domain();
        DiskLease lease = system.admin.resources(DiskLease.class).list().getItems().stream()
            .filter(l -> l.getSpec() != null && disk.toString().equals(l.getSpec().path)).findFirst().orElse(null);
        List<LeaseHolder> holders = lease == null || lease.getStatus() == null ? List.of() : lease.getStatus().holders;
        return d != null && d.getStatus() != null && node.equals(d.getStatus().node) && holders.size() == 1
            && node.equals(holders.get(0).node) ? d : null;
      });
    }

    private SupervisedDomain domain() {
      return system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems().stream()
          .filter(d -> d.getMetadata().getName().startsWith(vm + "-")).findFirst().orElse(null);
    }

    /** The lockd calls and what happened between them, from the log lines inside [from, to]. */
    private Migration takeApart(double downtime, double total, Instant from, Instant to, String source, String target,
        SupervisedDomain domain) {
      String key = system.apps + "/" + domain.getMetadata().getName();
      String owner = "owner=\"" + vm + "\"";
      String sourceLog = system.agent(source).log();
      String targetLog = system.agent(target).log();
      String operatorLog = system.operator().log();
      String targetNode = system.node(target);
      String release = last(sourceLog, from, to, "proc=RELEASE_RESOURCE", owner);
      String acquire = last(targetLog, from, to, "proc=ACQUIRE_RESOURCE", owner);
      double releaseMs = callMs(release);
      double acquireMs = callMs(acquire);
      Instant acquireEnd = time(acquire);
      Instant acquireStart = acquireEnd == null ? null : acquireEnd.minusMillis((long) acquireMs);
      Instant granted = time(last(operatorLog, from, to, "event=granted ", "domain=" + key + " ", "node=" + targetNode));
      // The target's supervisor runs since the incoming QEMU registered; the agent hands it the granted lock.
      String hotPlug = last(targetLog, from, to, "event=hot-plug ", "domain=" + key + " ", "node=" + targetNode + " ",
          "locks=[disk");
      String handOff = last(operatorLog, from, to, "event=handed-off ", "domain=" + key + " ", "to=" + targetNode + " ");
      Matcher gap = handOff == null ? null : Pattern.compile("gapMillis=(\\d+)").matcher(handOff);
      double gapMillis = gap != null && gap.find() ? Double.parseDouble(gap.group(1)) : Double.NaN;
      Instant locked = null;
      Instant up = null;
      // Spawned when the incoming QEMU registered (its lifetime connection), early in the migration.
      Instant spawned = time(last(targetLog, from, to, "event=supervisor-started", "domain=" + key + " "));
      Path supervisorLog = system.runDir(target).resolve("domains").resolve(domain.getMetadata().getUid())
          .resolve("supervisor.log");
      try {
        if (Files.exists(supervisorLog)) {
          String text = Files.readString(supervisorLog);
          locked = time(last(text, from, to, "event=locked ", "domain=" + key + " "));
          // The supervisor's first line: its JVM is up.
          up = spawned == null ? null : time(first(text, spawned, to, "event=phase ", "phase=Starting"));
        }
      } catch (IOException e) {
        // left NaN
      }
      boolean recreated = last(operatorLog, from, to, "event=auto-lease-created", disk.toString()) != null;
      return new Migration(downtime, total, releaseMs, between(time(release), acquireStart), acquireMs,
          between(acquireStart, granted), between(granted, time(hotPlug)), between(time(hotPlug), locked),
          between(locked, acquireEnd), gapMillis, between(spawned, up),
          up != null && hotPlug != null && up.isAfter(time(hotPlug)), recreated);
    }
  }

  /** The last line of {@code log} stamped within [from, to] that contains every one of {@code parts}. */
  static String last(String log, Instant from, Instant to, String... parts) {
    String found = null;
    for (String line : log.split("\n")) {
      if (Arrays.stream(parts).allMatch(line::contains)) {
        Instant t = time(line);
        if (t != null && !t.isBefore(from) && !t.isAfter(to)) {
          found = line;
        }
      }
    }
    return found;
  }

  /** The first line of {@code log} stamped within [from, to] that contains every one of {@code parts}. */
  static String first(String log, Instant from, Instant to, String... parts) {
    for (String line : log.split("\n")) {
      if (Arrays.stream(parts).allMatch(line::contains)) {
        Instant t = time(line);
        if (t != null && !t.isBefore(from) && !t.isAfter(to)) {
          return line;
        }
      }
    }
    return null;
  }

  static Instant time(String line) {
    if (line == null) {
      return null;
    }
    Matcher m = TIME.matcher(line);
    return m.find() ? Instant.parse(m.group(1)) : null;
  }

  static double callMs(String line) {
    if (line == null) {
      return Double.NaN;
    }
    Matcher m = CALL_MS.matcher(line);
    if (!m.find()) {
      return Double.NaN;
    }
    if (!"ok".equals(m.group(1))) {
      throw new AssertionError("a lockd call of the migration failed: " + line);
    }
    return Double.parseDouble(m.group(2));
  }

  static double between(Instant a, Instant b) {
    return a == null || b == null ? Double.NaN : Duration.between(a, b).toNanos() / 1e6;
  }

  // ---- the report ----

  private static double[] values(List<Migration> list, java.util.function.ToDoubleFunction<Migration> f) {
    return list.stream().mapToDouble(f).filter(v -> !Double.isNaN(v)).sorted().toArray();
  }

  private static String row(String what, double[] sorted) {
    if (sorted.length == 0) {
      return "| " + what + " | 0 | - | - | - |\n";
    }
    return String.format("| %s | %d | %.0f | %.0f | %.0f |%n", what, sorted.length, Stats.percentile(sorted, 50),
        Stats.percentile(sorted, 99), sorted[sorted.length - 1]);
  }

  static String report(List<Migration> nops, List<Migration> lockds, List<String> nopFailures,
      List<String> lockdFailures, double[] baseline) {
    double[] nopDown = values(nops, Migration::downtime);
    double[] lkDown = values(lockds, Migration::downtime);
    double[] nopTotal = values(nops, Migration::total);
    double[] lkTotal = values(lockds, Migration::total);
    double addedP99 = Stats.percentile(lkDown, 99) - Stats.percentile(nopDown, 99);
    long recreated = lockds.stream().filter(Migration::leaseRecreated).count();
    StringBuilder md = new StringBuilder();
    md.append("One QEMU (1 vCPU, 64 MiB, no OS, one qcow2 disk on virtio-scsi, ").append(Accel.detect())
        .append(") migrated live (`virsh migrate --live\n--unsafe`) back and forth between two libvirt nodes ")
        .append("(e2e/libvirt/node.sh: each a mount namespace with its own libvirtd, on\nloopback), ")
        .append(nops.size()).append(" times with `lock_manager = \"nop\"` and ").append(lockds.size())
        .append(" times with `lock_manager = \"lockd\"` answered by lockwarden's agents\ninside the nodes (real ")
        .append("kube-apiserver, etcd and operator; default timeouts), interleaved one by one, after ").append(WARMUP)
        .append(" warm-up\nmigrations each. Downtime: libvirt's \"Total downtime\" of the completed job (`virsh ")
        .append("domjobinfo --completed` on the source),\nfrom the source's CPUs stopping to the target's running: it ")
        .append("brackets the source's RELEASE and the target's ACQUIRE. Total: the\n`virsh migrate` command, start ")
        .append("to end. All in ms; percentiles by nearest rank")
        .append((int) Math.ceil(0.99 * lockds.size()) >= lockds.size() ? " (with n = " + lockds.size()
            + ", p99 is the largest value)" : "").append(".\n\n")
        .append("| measurement | n | p50 | p99 | max |\n|---|---|---|---|---|\n")
        .append(row("downtime, nop", nopDown))
        .append(row("downtime, lockd (lockwarden)", lkDown))
        .append(row("total, nop", nopTotal))
        .append(row("total, lockd (lockwarden)", lkTotal))
        .append(String.format("%nAdded by lockwarden (lockd minus nop): downtime p50 %+.0f ms, p99 %+.0f ms; total "
            + "p50 %+.0f ms, p99 %+.0f ms.%n", Stats.percentile(lkDown, 50) - Stats.percentile(nopDown, 50), addedP99,
            Stats.percentile(lkTotal, 50) - Stats.percentile(nopTotal, 50),
            Stats.percentile(lkTotal, 99) - Stats.percentile(nopTotal, 99)))
        .append(String.format("The goal (issue #14): at most 20 ms added to the p99 downtime: **%s** (%+.0f ms).%n%n",
            addedP99 <= 20 ? "met" : "not met", addedP99))
        .append("Where a lockd migration's time goes, from the log lines of that migration (source agent's and ")
        .append("target agent's\n`event=lockd-call ... ms=`, the operator's `event=granted` and `event=handed-off`, ")
        .append("the target agent's `event=hot-plug`, its\nattach-mode supervisor's `event=locked`; that supervisor ")
        .append("runs since the incoming QEMU registered, before the switch-over):\n\n")
        .append("| part of a lockd migration | n | p50 | p99 | max |\n|---|---|---|---|---|\n")
        .append(row("source RELEASE (until no DiskLease lists the domain on the source)", values(lockds,
            Migration::release)))
        .append(row("RELEASE answered → target ACQUIRE received (libvirt: switch-over, Finish)", values(lockds,
            Migration::releaseToAcquire)))
        .append(row("target ACQUIRE (until granted and locked by a supervisor)", values(lockds, Migration::acquire)))
        .append(row("… ACQUIRE received → operator grants the target", values(lockds, Migration::toGranted)))
        .append(row("… granted → target agent hands the lock to its supervisor (`event=hot-plug`)", values(lockds,
            Migration::grantedToHotPlug)))
        .append(row("… hot-plug → the supervisor holds the local lock", values(lockds, Migration::hotPlugToLocked)))
        .append(row("… locked → ACQUIRE answered (status through the API server)", values(lockds,
            Migration::lockedToReply)))
        .append(row("target supervisor's JVM start (spawned at the incoming QEMU's REGISTER → its first line)",
            values(lockds, Migration::supervisorStart)))
        .append(row("operator's release-then-grant gap (`event=handed-off gapMillis`)", values(lockds,
            Migration::handOffGap)))
        .append(row("API baseline: one status PUT with resourceVersion", baseline))
        .append(String.format("%nIn %d of %d lockd migrations the operator deleted the disk's automatic DiskLease after "
            + "the source's release and created it\nagain for the target's acquire (`event=auto-lease-created` in the "
            + "migration's window).%n", recreated, lockds.size()));
    md.append(String.format("In %d of %d the target's supervisor was not up yet (no first line) when its agent handed "
        + "it the lock: the\nwait from hot-plug to lock is then mostly the rest of its JVM's start.%n",
        lockds.stream().filter(Migration::supervisorLate).count(), lockds.size()));
    md.append(String.format("%nFailed migrations (not in the figures above; the VM resumed or restarted on the source, "
        + "then the next one tried): nop %d, lockd %d.%n", nopFailures.size(), lockdFailures.size()));
    for (String failure : nopFailures) {
      md.append("- nop: ").append(failure).append('\n');
    }
    for (String failure : lockdFailures) {
      md.append("- lockd: ").append(failure).append('\n');
    }
    return md.toString();
  }
}
