package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.lockspace.LockHolders;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.LockTarget;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.MigrationMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import jnr.constants.platform.Signal;

/**
 * The seed's supervisor binary, one OS process per domain: takes the domain's local locks, starts its process, and
 * enforces the lease. It does not depend on the agent to live, and the agent can be restarted or upgraded under it.
 *
 * <p>Hot-plug (the seed's AcquireResource and ReleaseResource): the agent may write a file {@code locks} into the run
 * directory, one MODE,EPOCH,LEASE,PATH line per lock. From then on it is the wanted set: the supervisor takes new locks
 * while the process runs (only while the right is proven) and drops locks no longer listed. {@code state.json}'s
 * {@code locks} says what is held.
 *
 * <p>Exit codes: the domain's own exit code (or 128 + signal); 75 when a local lock is held by someone else; 76 when
 * the domain's right to its disks was not proven at start; 2 for bad arguments.
 */
public final class SupervisorMain {
  public static final int LOCK_BUSY = 75;
  public static final int NOT_PROVEN = 76;
  /** At least every 200 ms, as docs/safety.md (TIME-2) assumes. */
  static final long CHECK_INTERVAL_MILLIS = 100;
  static final long HELD_CHECK_INTERVAL_MILLIS = 5;
  /** Present in the run directory: keep the process stopped (or not started) for a migration hand-off. */
  public static final String HOLD_FILE = "hold";

  private final SupervisorArgs args;
  private final SupervisorState state = new SupervisorState();
  /** Held locks by "lease,epoch,mode", in the order taken. */
  private final Map<String, Held> locks = new LinkedHashMap<>();
  /** The domain's process; null until started (a Cold migration target starts it at the hand-off). */
  private DomainProcess child;
  /** Stopped (or not started) for a migration hand-off: it runs again only once the agent lets go of the hold. */
  private boolean held;
  private long heldSince;
  private String locksFileSeen;
  private volatile boolean stopRequested;

  private SupervisorMain(SupervisorArgs args) {
    this.args = args;
  }

  public static void main(String[] argv) {
    SupervisorArgs args;
    try {
      args = SupervisorArgs.parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("lockwarden-supervisor: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(new SupervisorMain(args).run());
  }

  private int run() {
    state.supervisorPid = ProcessHandle.current().pid();
    state.supervisorStartTime = ProcStat.startTime(state.supervisorPid);
    state.args = args.toArgs();
    update("Starting", null);
    try {
      if (!lockAll()) {
        return LOCK_BUSY;
      }
      if (System.nanoTime() > Deadline.read(args.runDir())) {
        update("Exited", "the right to the disks is not proven (deadline passed or missing); not starting");
        return NOT_PROVEN;
      }
      if (args.incoming() == null) {
        spawn(false);
        state.runningAtMillis = System.currentTimeMillis();
        update("Running", null);
      } else {
        // A migration target: Live starts the process stopped, before it runs any of its own code; Cold starts nothing.
        if (args.incoming() == MigrationMode.Live) {
          spawn(true);
        }
        held = true;
        heldSince = System.nanoTime();
        state.heldAtMillis = System.currentTimeMillis();
        update("Held", "incoming migration: waiting for the hand-off");
      }
      return supervise();
    } catch (IOException e) {
      update("Exited", e.getMessage());
      return 1;
    } finally {
      locks.values().forEach(h -> h.lock().close());
    }
  }

  /** Starts the domain's process; {@code stopped}: it stops itself before running the domain's command. */
  private void spawn(boolean stopped) throws IOException {
    List<String> command = new ArrayList<>();
    List<String> env = environment();
    if (stopped) {
      command.addAll(List.of("/bin/sh", "-c", "kill -STOP $$; exec \"$@\"", "sh"));
      env.add("LOCKWARDEN_MIGRATION=incoming");
    }
    command.addAll(args.command());
    child = DomainProcess.spawn(command, held().stream().map(h -> h.lock().fd()).toList(), env,
        args.runDir().resolve("domain.log"), args.runAsUid() == null ? null : new int[] {args.runAsUid(), args.runAsGid()});
    state.pid = child.pid();
  }

  private List<Held> held() {
    return List.copyOf(locks.values());
  }

  private record Held(SupervisorArgs.Lock spec, OfdLocks.HeldLock lock) {}

  private static String key(SupervisorArgs.Lock lock) {
    return lock.lease() + "," + lock.epoch() + "," + lock.mode();
  }

  private boolean lockAll() throws IOException {
    for (SupervisorArgs.Lock lock : args.locks()) {
      if (!lock(lock)) {
        return false;
      }
    }
    state.locks = heldLines();
    return true;
  }

  /** Takes one lock; false (with LocalLockBusy in the state) if someone else holds byte 0. */
  private boolean lock(SupervisorArgs.Lock lock) throws IOException {
    Path target = LockTarget.of(lock.path(), args.lockspaceDir());
    OfdLocks.HeldLock taken = OfdLocks.tryLock(target, lock.mode());
    if (taken == null) {
      Long holder = LockHolders.holderOf(target).stream().boxed().findFirst().orElse(null);
      if (!target.toString().equals(state.busyPath) || !java.util.Objects.equals(holder, state.busyHolderPid)) {
        state.busyPath = target.toString();
        state.busyHolderPid = holder;
        update("LocalLockBusy".equals(state.phase) || state.pid == null ? "LocalLockBusy" : state.phase,
            "byte 0 of " + target + " is locked by " + (holder != null ? "pid " + holder : "another process"));
      }
      return false;
    }
    locks.put(key(lock), new Held(lock, taken));
    log("locked", "lease=" + lock.lease() + " epoch=" + lock.epoch() + " mode=" + lock.mode() + " path=" + target);
    return true;
  }

  /**
   * Hot-plug: makes the held locks match the {@code locks} file, if the agent wrote one. New locks are taken only while
   * the right is proven; a busy one is tried again on the next check.
   */
  private void syncLocks(boolean proven) throws IOException {
    String content = readLocksFile();
    if (content == null) {
      return;
    }
    List<SupervisorArgs.Lock> wanted = parseLocks(content);
    boolean changed = false;
    List<String> wantedKeys = wanted.stream().map(SupervisorMain::key).toList();
    for (var it = locks.entrySet().iterator(); it.hasNext(); ) {
      var entry = it.next();
      if (!wantedKeys.contains(entry.getKey())) {
        entry.getValue().lock().release();
        it.remove();
        changed = true;
        SupervisorArgs.Lock lock = entry.getValue().spec();
        log("released", "lease=" + lock.lease() + " epoch=" + lock.epoch() + " path=" + lock.path());
      }
    }
    boolean allHeld = true;
    for (SupervisorArgs.Lock lock : wanted) {
      if (!locks.containsKey(key(lock))) {
        boolean taken = proven && lock(lock);
        changed |= taken;
        allHeld &= taken;
      }
    }
    if (changed || !content.equals(locksFileSeen)) {
      locksFileSeen = content;
      if (allHeld) {
        state.busyPath = null;
        state.busyHolderPid = null;
      }
      state.locks = heldLines();
      writeTokens();
      update(state.phase, state.message);
    }
  }

  private List<String> heldLines() {
    return locks.values().stream().map(h -> h.spec().line()).toList();
  }

  /** path=epoch of every held lock, one per line, for storage-side code that rejects stale writers. */
  private String writeTokens() throws IOException {
    String tokens = locks.values().stream().map(h -> h.spec().token()).collect(Collectors.joining(","));
    Path tmp = args.runDir().resolve("fencing-tokens.tmp");
    Files.writeString(tmp, tokens.isEmpty() ? "" : tokens.replace(',', '\n') + "\n");
    Files.move(tmp, args.runDir().resolve("fencing-tokens"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return tokens;
  }

  /** The supervisor's environment, plus the fencing tokens: path=epoch of every grant, for storage-side checks. */
  private List<String> environment() throws IOException {
    Path tokensFile = args.runDir().resolve("fencing-tokens");
    String tokens = writeTokens();
    List<String> env = new ArrayList<>();
    for (Map.Entry<String, String> e : System.getenv().entrySet()) {
      env.add(e.getKey() + "=" + e.getValue());
    }
    env.add("LOCKWARDEN_FENCING_TOKENS=" + tokens);
    env.add("LOCKWARDEN_FENCING_TOKENS_FILE=" + tokensFile);
    return env;
  }

  /** The enforcement loop, on the main thread: the thread the child's parent-death signal is tied to. */
  private int supervise() {
    CountDownLatch finished = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopRequested = true; // SIGTERM from the agent: the seed's Shutdown
      try {
        finished.await(args.stopGrace().toMillis() + 5000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "stop"));
    boolean paused = false;
    long pausedAt = 0;
    long stoppingSince = -1;
    Path holdFile = args.runDir().resolve(HOLD_FILE);
    try {
      while (true) {
        int[] status = child == null ? null : child.poll();
        if (status != null) {
          state.exitCode = DomainProcess.terminatingSignal(status[0]) == 0 ? DomainProcess.exitCode(status[0]) : null;
          state.exitSignal = DomainProcess.terminatingSignal(status[0]) == 0 ? null : DomainProcess.terminatingSignal(status[0]);
          update("Exited", null);
          return state.exitCode != null ? state.exitCode : 128 + state.exitSignal;
        }
        long now = System.nanoTime();
        long deadline = Deadline.read(args.runDir());
        boolean holdWanted = Files.exists(holdFile);
        if (holdWanted && !held && stoppingSince < 0 && !stopRequested) {
          // Migration hand-off, source side: stop the process first, then let go of its Exclusive locks, in this
          // order and in one step, so the target can take them at once and the stopped process never writes again.
          child.signal(Signal.SIGSTOP);
          held = true;
          heldSince = now;
          releaseWriteLocks();
          state.heldAtMillis = System.currentTimeMillis();
          update("Held", "stopped for a migration hand-off; Exclusive locks released");
        }
        if (stoppingSince < 0) {
          try {
            syncLocks(!paused && !holdWanted && now <= deadline);
          } catch (IOException | RuntimeException e) {
            log("hot-plug-failed", "error=\"" + e.getMessage() + "\""); // the running domain is left alone
          }
        }
        if (stopRequested && stoppingSince < 0) {
          stoppingSince = now;
          if (child == null) {
            update("Exited", "stopped before the process started");
            return 0;
          }
          if (held) {
            child.signal(Signal.SIGKILL); // a process held for a migration never runs again without its locks
          } else {
            child.signal(Signal.SIGTERM);
            child.signal(Signal.SIGCONT); // a paused process must run to handle SIGTERM
          }
          update("Stopping", null);
        } else if (stoppingSince >= 0) {
          if (now - stoppingSince > args.stopGrace().toNanos()) {
            child.signal(Signal.SIGKILL);
          }
        } else if (held && !holdWanted) {
          // The hand-off (target) or its roll-back (source): run once every wanted lock is held and the right proven.
          if (now <= deadline && allWantedLocksHeld()) {
            if (child == null) {
              spawn(false);
            } else {
              child.signal(Signal.SIGCONT);
            }
            held = false;
            paused = false;
            state.runningAtMillis = System.currentTimeMillis();
            update("Running", null);
            log("continued", "locks=" + heldLines());
          }
        } else if (held) {
          // Held, the process does not run; without a proven right for pauseTimeout, it ends like a paused one.
          long unprovenSince = Math.max(deadline, heldSince);
          if (now - unprovenSince > args.pauseTimeout().toNanos()) {
            log("fenced", "action=kill reason=held-without-proof");
            if (child == null) {
              update("Exited", "held for a migration without a proven right for " + args.pauseTimeout());
              return NOT_PROVEN;
            }
            child.signal(Signal.SIGKILL);
          }
        } else if (!paused && now > deadline) {
          if (args.onLeaseLoss() == LeaseLossAction.Kill) {
            child.signal(Signal.SIGKILL);
            log("fenced", "action=kill");
          } else {
            child.signal(Signal.SIGSTOP);
            paused = true;
            pausedAt = now;
            state.pauses++;
            update("Paused", "the right to the disks could not be proven in time; paused");
            log("fenced", "action=pause");
          }
        } else if (paused && now <= deadline) {
          child.signal(Signal.SIGCONT);
          paused = false;
          state.resumes++;
          update("Running", null);
          log("resumed", "");
        } else if (paused && now - pausedAt > args.pauseTimeout().toNanos()) {
          child.signal(Signal.SIGKILL);
          log("fenced", "action=kill reason=pause-timeout");
        }
        // Held for a hand-off, every millisecond until the process runs again is blackout: look more often.
        sleep(held ? HELD_CHECK_INTERVAL_MILLIS : CHECK_INTERVAL_MILLIS);
      }
    } catch (IOException e) {
      log("start-failed", "error=\"" + e.getMessage() + "\"");
      update("Exited", e.getMessage());
      return 1;
    } finally {
      finished.countDown();
    }
  }

  private void releaseWriteLocks() throws IOException {
    for (var it = locks.entrySet().iterator(); it.hasNext(); ) {
      Held lock = it.next().getValue();
      if (lock.spec().mode() == LockMode.WRITE) {
        lock.lock().release();
        it.remove();
        log("released", "lease=" + lock.spec().lease() + " epoch=" + lock.spec().epoch() + " reason=hand-off");
      }
    }
    state.locks = heldLines();
    writeTokens();
  }

  /** Whether every lock the agent wants (the locks file, else the arguments) is held. */
  private boolean allWantedLocksHeld() throws IOException {
    String content = readLocksFile();
    List<SupervisorArgs.Lock> wanted = content == null ? args.locks() : parseLocks(content);
    return wanted.stream().allMatch(l -> locks.containsKey(key(l)));
  }

  /** The hot-plug file's text, or null if the agent has not written one. */
  private String readLocksFile() throws IOException {
    Path file = args.runDir().resolve("locks");
    return Files.exists(file) ? Files.readString(file) : null;
  }

  private static List<SupervisorArgs.Lock> parseLocks(String content) {
    return content.lines().filter(l -> !l.isBlank()).map(SupervisorArgs.Lock::parse).toList();
  }

  private void update(String phase, String message) {
    state.phase = phase;
    state.message = message;
    state.write(args.runDir());
    log("phase", "phase=" + phase + (message == null ? "" : " message=\"" + message + "\""));
  }

  private void log(String event, String details) {
    System.err.println(java.time.Instant.now() + " event=" + event + " domain=" + args.domain() + " " + details);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
