package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.lockspace.LockHolders;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.LockTarget;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.agent.rundir.RunDir;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The supervisor's held locks, and the one rule for letting go of one: <b>a lock is released only when the domain can
 * no longer write through it</b>. For an unplugged disk, no process of the domain has it open any more (from /proc);
 * for a hand-off, every process is stopped; at the end, none is left. Before an Exclusive lock goes, the disk is
 * drained: fdatasync through the supervisor's own descriptor, so what the domain wrote is on the storage before the
 * next holder, possibly on another host, reads it (docs/safety.md, LOCAL-4 and SUP-5).
 */
final class LockSet {
  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();
  private static final int O_RDONLY_CLOEXEC = 0x80000;

  private final SupervisorArgs args;
  private final SupervisorState state;
  private final Consumer<String> log;
  private final boolean drain;
  private final boolean unplugCheck;
  private final Runnable busyChanged;
  /** Held locks by "lease,epoch,mode", in the order taken. */
  private final Map<String, Held> locks = new LinkedHashMap<>();

  private record Held(SupervisorArgs.Lock spec, OfdLocks.HeldLock lock) {}

  /**
   * @param drain false only for a negative control: release without waiting or syncing
   * @param unplugCheck false only for a negative control: release an unplugged disk even while it is open
   * @param busyChanged writes the state: a lock was found held by someone else, or by someone else than before
   */
  LockSet(SupervisorArgs args, SupervisorState state, Consumer<String> log, boolean drain, boolean unplugCheck,
      Runnable busyChanged) {
    this.args = args;
    this.busyChanged = busyChanged;
    this.state = state;
    this.log = log;
    this.drain = drain;
    this.unplugCheck = unplugCheck;
  }

  static String key(SupervisorArgs.Lock lock) {
    return lock.lease() + "," + lock.epoch() + "," + lock.mode();
  }

  boolean drains() {
    return drain;
  }

  /** Takes every lock; false (with LocalLockBusy in the state) at the first one someone else holds. */
  boolean lockAll(List<SupervisorArgs.Lock> wanted) throws IOException {
    for (SupervisorArgs.Lock lock : wanted) {
      if (!locks.containsKey(key(lock)) && !lock(lock)) {
        return false;
      }
    }
    state.locks = lines();
    return true;
  }

  /** Takes one lock; false (with the foreign holder in the state) if someone else holds byte 0. */
  boolean lock(SupervisorArgs.Lock lock) throws IOException {
    Path target = LockTarget.of(lock.name(), lock.path(), args.lockspaceDir());
    OfdLocks.HeldLock taken = OfdLocks.tryLock(target, lock.mode());
    if (taken == null) {
      Long holder = LockHolders.holderOf(target).stream().boxed().findFirst().orElse(null);
      if (!target.toString().equals(state.busyPath) || !Objects.equals(holder, state.busyHolderPid)) {
        state.busyPath = target.toString();
        state.busyHolderPid = holder;
        state.message = "byte 0 of " + target + " is locked by " + (holder != null ? "pid " + holder : "another process");
        if (state.pid == null) {
          state.phase = "LocalLockBusy";
        }
        busyChanged.run(); // the agent reports it, and a migration target's agent fails the hand-off on it
      }
      return false;
    }
    locks.put(key(lock), new Held(lock, taken));
    log.accept("event=locked lease=" + lock.lease() + " epoch=" + lock.epoch() + " mode=" + lock.mode() + " path="
        + target);
    return true;
  }

  /**
   * Hot-plug: makes the held locks match {@code wanted}. A lock no longer wanted goes only once no process of the
   * domain has its disk open (until then it stays, and the state says who holds the disk open); a new one is taken
   * only while the right is proven.
   *
   * @param domainPids every process of the domain, asked for only when a lock is no longer wanted
   * @return whether anything changed
   */
  boolean sync(List<SupervisorArgs.Lock> wanted, boolean proven, Supplier<Collection<Long>> domainPids)
      throws IOException {
    boolean changed = false;
    List<String> wantedKeys = wanted.stream().map(LockSet::key).toList();
    List<String> pending = new ArrayList<>();
    for (var it = locks.entrySet().iterator(); it.hasNext(); ) {
      var entry = it.next();
      if (wantedKeys.contains(entry.getKey())) {
        continue;
      }
      SupervisorArgs.Lock lock = entry.getValue().spec();
      // The same disk under a newer grant (a migration's new epoch) is a swap, not an unplug: the domain keeps the
      // disk, under the new grant.
      boolean swap = wanted.stream().anyMatch(w -> w.lease().equals(lock.lease()));
      List<String> users = unplugCheck && !swap ? OpenFiles.users(domainPids.get(), lock.path()) : List.of();
      if (!users.isEmpty()) {
        pending.add(lock.path() + " (DiskLease " + lock.lease() + ") is still open: " + String.join(", ", users));
        continue;
      }
      release(entry.getValue(), swap ? "new-epoch" : "unplugged");
      it.remove();
      changed = true;
    }
    boolean allHeld = true;
    for (SupervisorArgs.Lock lock : wanted) {
      if (!locks.containsKey(key(lock))) {
        boolean taken = proven && lock(lock);
        changed |= taken;
        allHeld &= taken;
      }
    }
    if (allHeld && state.busyPath != null) {
      state.busyPath = null;
      state.busyHolderPid = null;
      changed = true;
    }
    List<String> before = state.unplugPending;
    state.unplugPending = pending.isEmpty() ? null : pending;
    if (!Objects.equals(before, state.unplugPending)) {
      changed = true;
      if (!pending.isEmpty()) {
        log.accept("event=unplug-waits reason=disk-open detail=\"" + String.join("; ", pending) + "\"");
      }
    }
    if (changed) {
      state.locks = lines();
    }
    return changed;
  }

  /** The hand-off: every process of the domain is stopped (checked by the caller); the Exclusive locks go. */
  void releaseExclusive(String reason) throws IOException {
    for (var it = locks.entrySet().iterator(); it.hasNext(); ) {
      Held held = it.next().getValue();
      if (held.spec().mode() == LockMode.WRITE) {
        release(held, reason);
        it.remove();
      }
    }
    state.locks = lines();
  }

  /** The end: no process of the domain is left (checked by the caller); every lock goes. */
  void releaseAll(String reason) {
    for (Held held : locks.values()) {
      try {
        release(held, reason);
      } catch (IOException e) {
        log.accept("event=drain-failed lease=" + held.spec().lease() + " error=\"" + e.getMessage() + "\"");
        held.lock().close(); // nothing of the domain is left to write; only the storage's own cache is unsynced
      }
    }
    locks.clear();
    state.locks = lines();
  }

  List<String> lines() {
    return locks.values().stream().map(h -> h.spec().line()).toList();
  }

  /** path=epoch of every held lock, one per line, for storage-side code that rejects stale writers. */
  String tokens() {
    return locks.values().stream().map(h -> h.spec().token()).collect(Collectors.joining(","));
  }

  void writeTokens(RunDir runDir) throws IOException {
    String tokens = tokens();
    runDir.writeTokens(tokens.isEmpty() ? "" : tokens.replace(',', '\n') + "\n");
  }

  private void release(Held held, String reason) throws IOException {
    SupervisorArgs.Lock lock = held.spec();
    if (drain && lock.mode() == LockMode.WRITE) {
      fdatasync(lock.path());
    }
    held.lock().release();
    log.accept("event=released lease=" + lock.lease() + " epoch=" + lock.epoch() + " reason=" + reason
        + (drain && lock.mode() == LockMode.WRITE ? " drained=fdatasync" : ""));
  }

  /** The drain: whatever the domain wrote to the disk, through any descriptor, reaches the storage. */
  static void fdatasync(Path disk) throws IOException {
    if (!java.nio.file.Files.exists(disk)) {
      return; // deleted, and no process of the domain has it open: nothing can reach it any more
    }
    int fd = POSIX_CALLS.open(disk.toString(), O_RDONLY_CLOEXEC, 0);
    if (fd < 0) {
      throw new IOException("cannot open " + disk + " to sync it: errno " + POSIX_CALLS.errno());
    }
    try {
      if (POSIX_CALLS.fdatasync(fd) != 0) {
        throw new IOException("fdatasync of " + disk + " failed: errno " + POSIX_CALLS.errno());
      }
    } finally {
      POSIX_CALLS.close(fd);
    }
  }

  /** On the supervisor's own exit, however it ends: the descriptors close (the kernel would close them anyway). */
  void closeAll() {
    locks.values().forEach(h -> h.lock().close());
  }
}
