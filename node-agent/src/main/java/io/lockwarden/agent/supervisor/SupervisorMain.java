package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.api.v1alpha1.MigrationMode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import jnr.constants.platform.Signal;

/**
 * The seed's supervisor binary, one OS process per domain: takes the domain's local locks, starts its process, and
 * enforces the lease. It does not depend on the agent to live, and the agent can be restarted or upgraded under it.
 * It talks to the agent only through its run directory ({@link RunDir}).
 *
 * <p>Its main loop, every 100 ms (5 ms while held for a hand-off), in this order: reap; end the domain if asked to
 * (kill) or if its main process ended; hold for a hand-off; follow hot-plug ({@link LockSet#sync}); stop if asked to;
 * let a held process go; pause or kill once the deadline has passed, resume once it is renewed ({@link DeadlineFence}).
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

  private final SupervisorArgs args;
  /** The domain's environment: from its assignment ({@link SpareSupervisor}), else the supervisor's own. */
  private final Map<String, String> domainEnvironment;
  private final RunDir runDir;
  private final SupervisorState state = new SupervisorState();
  private final LockSet locks;
  private TrackedProcesses processes;
  /** The processes it starts itself; null in attach mode. */
  private DomainProcesses launched;
  /** Attach mode: the process another program started (QEMU under libvirt); null otherwise. */
  private AttachedProcess attached;
  /** The domain's main process; null until started (a Cold migration target starts it at the hand-off). */
  private DomainProcess child;
  /** Stopped (or not started) for a migration hand-off: it runs again only once the agent lets go of the hold. */
  private boolean held;
  /** Stopping every process for a hand-off, not yet confirmed stopped. */
  private boolean holding;
  private long heldSince;
  /** Pause or kill past the deadline, resume once renewed: set once the processes are tracked. */
  private DeadlineFence fence;
  private long stoppingSince = -1;
  private boolean killing;
  /** Attach mode, asked to stop while holding nothing: it ends and leaves the process alone. */
  private boolean detaching;
  private String locksFileSeen;
  private volatile boolean stopRequested;

  private SupervisorMain(SupervisorArgs args, Map<String, String> domainEnvironment) {
    this.args = args;
    this.domainEnvironment = domainEnvironment;
    this.runDir = new RunDir(args.runDir());
    // Attach mode: libvirt releases a disk only after QEMU let go of it (detached) or stopped its CPUs and drained
    // (suspend, migration switch-over), while QEMU keeps it open; its RELEASE is the proof (docs/safety.md, ATT-2).
    this.locks = new LockSet(args, state, this::log, !args.unsafe().contains(SupervisorArgs.Unsafe.DRAIN),
        args.attach() == null && !args.unsafe().contains(SupervisorArgs.Unsafe.UNPLUG_CHECK),
        () -> update(state.phase, state.message));
  }

  public static void main(String[] argv) {
    if (argv.length == 1 && argv[0].equals("--spare")) {
      System.exit(SpareSupervisor.run()); // how the agent starts every supervisor (see SparePool)
      return;
    }
    SupervisorArgs args;
    try {
      args = SupervisorArgs.parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("lockwarden-supervisor: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(start(args, System.getenv()));
  }

  /** Supervises the domain {@code args} name, with {@code environment} for its process; returns the exit code. */
  static int start(SupervisorArgs args, Map<String, String> environment) {
    return new SupervisorMain(args, environment).run();
  }

  private int run() {
    state.supervisorPid = ProcessHandle.current().pid();
    state.supervisorStartTime = ProcStat.startTime(state.supervisorPid);
    state.args = args.toArgs();
    update("Starting", null);
    if (!args.unsafe().isEmpty()) {
      log("event=unsafe-test-only rules-off=" + args.unsafe() + " note=a negative control; never in production");
    }
    try {
      processes = trackProcesses();
      fence = new DeadlineFence(processes, state, args.onLeaseLoss(), args.pauseTimeout(), this::log, this::update);
      if (!locks.lockAll(args.locks())) {
        update(state.phase, state.message);
        return LOCK_BUSY;
      }
      locks.writeTokens(runDir);
      if (System.nanoTime() > runDir.deadline()) {
        update("Exited", "the right to the disks is not proven (deadline passed or missing); not starting");
        return NOT_PROVEN;
      }
      if (attached != null) {
        if (!attached.alive()) {
          return end(null, "the attached process " + attached.pid() + " is gone");
        }
        state.pid = attached.pid();
        state.pidStartTime = args.attach().startTime();
        state.runningAtMillis = System.currentTimeMillis();
        update("Running", "attached to process " + attached.pid());
      } else if (args.incoming() == null) {
        spawn(false);
        state.runningAtMillis = System.currentTimeMillis();
        update("Running", null);
      } else {
        // A migration target: Warm starts the process stopped, before it runs any of its own code; Cold starts nothing.
        if (args.incoming().startsAhead()) {
          spawn(true);
          freezePrepared();
        }
        held = true;
        heldSince = System.nanoTime();
        state.heldAtMillis = System.currentTimeMillis();
        update("Held", "incoming migration: waiting for the hand-off");
      }
      return supervise();
    } catch (IOException | RuntimeException e) {
      log("event=supervisor-failed error=\"" + e + "\"");
      return end(null, "the supervisor failed: " + e.getMessage());
    } finally {
      locks.closeAll();
    }
  }

  private TrackedProcesses trackProcesses() {
    if (args.attach() != null) {
      attached = new AttachedProcess(args.attach());
      return attached;
    }
    if (args.cgroup() != null) {
      try {
        launched = DomainProcesses.start(args.cgroup());
        return launched;
      } catch (IOException | RuntimeException e) {
        log("event=cgroup-unavailable cgroup=" + args.cgroup() + " error=\"" + e.getMessage()
            + "\" note=tracking the domain as a child subreaper");
      }
    }
    launched = DomainProcesses.withoutCgroup();
    return launched;
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
    child = launched.spawn(command, env, runDir.resolve(RunDir.DOMAIN_LOG),
        args.runAsUid() == null ? null : new int[] {args.runAsUid(), args.runAsGid()});
    state.pid = child.pid();
    state.pidStartTime = ProcStat.startTime(child.pid());
  }

  /**
   * A prepared Warm target stops itself (SIGSTOP) before running any of the domain's code; another process of the
   * same user could SIGCONT it. Once it has stopped, its cgroup is frozen too, which no signal undoes.
   */
  private void freezePrepared() throws IOException {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!"T".equals(ProcStat.state(child.pid())) && System.nanoTime() < until) {
      sleep(5);
    }
    processes.stopAll();
  }

  /** The supervisor's environment, plus the fencing tokens: path=epoch of every grant, for storage-side checks. */
  private List<String> environment() throws IOException {
    locks.writeTokens(runDir);
    List<String> env = new ArrayList<>();
    for (Map.Entry<String, String> e : domainEnvironment.entrySet()) {
      env.add(e.getKey() + "=" + e.getValue());
    }
    env.add("LOCKWARDEN_FENCING_TOKENS=" + locks.tokens());
    env.add("LOCKWARDEN_FENCING_TOKENS_FILE=" + runDir.tokensFile());
    return env;
  }

  /** The enforcement loop, on the main thread: the thread the child's parent-death signal is tied to. */
  private int supervise() throws IOException {
    CountDownLatch finished = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopRequested = true; // SIGTERM from the agent: the seed's Shutdown
      try {
        finished.await(args.stopGrace().toMillis() + 5000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "stop"));
    try {
      while (true) {
        Integer status = processes.reap();
        if (status != null) {
          return end(status, attached == null ? null : "the attached process " + attached.pid() + " ended");
        }
        if (detaching) {
          return detach();
        }
        if (killing && child == null && attached == null) {
          return end(null, "stopped before the process started");
        }
        if (runDir.killRequested() && !killing) {
          killing = true; // the seed's Free: with prejudice; the end follows once the main process is reaped
          log("event=kill-requested");
          processes.killAll();
          update("Stopping", "killed; the locks go once no process of the domain is left");
        }
        if (!killing) {
          step();
        } else {
          processes.killAll(); // again: a fork between two looks is not missed
        }
        // Held for a hand-off, every millisecond until the process runs again is blackout: look more often.
        sleep(held || holding ? HELD_CHECK_INTERVAL_MILLIS : CHECK_INTERVAL_MILLIS);
      }
    } finally {
      finished.countDown();
    }
  }

  private void step() throws IOException {
    long now = System.nanoTime();
    long deadline = runDir.deadline();
    boolean holdWanted = runDir.holdRequested();
    if (holdWanted && !held && stoppingSince < 0 && !stopRequested) {
      hold(now);
    }
    if (stoppingSince < 0 && !holding) {
      try {
        syncLocks(!fence.paused() && !holdWanted && now <= deadline);
      } catch (IOException | RuntimeException e) {
        log("event=hot-plug-failed error=\"" + e.getMessage() + "\""); // the running domain is left alone
      }
    }
    if (stopRequested && stoppingSince < 0 && attached != null && locks.lines().isEmpty()) {
      detaching = true; // it holds nothing of ours: let go of it, and never touch a process that is not ours to stop
      return;
    }
    if (stopRequested && stoppingSince < 0) {
      stoppingSince = now;
      if (attached != null) {
        // Asked to stop while it holds locks (virtlockd's rule when its owner's connection closes): SIGTERM, then
        // SIGKILL after the grace, or at once without a proven right.
        if (now > deadline) {
          processes.killAll();
        } else {
          processes.continueAll();
          attached.terminate();
        }
        update("Stopping", null);
        return;
      }
      if (child == null) {
        killing = true;
        return;
      }
      if (held || now > deadline) {
        // A held process never runs again without its locks; one without a proven right never runs again at all,
        // not even to handle SIGTERM (TIME-2 holds through a stop).
        processes.killAll();
      } else {
        processes.continueAll(); // a paused process must run to handle SIGTERM
        child.signal(Signal.SIGTERM);
      }
      update("Stopping", null);
    } else if (stoppingSince >= 0) {
      if (now - stoppingSince > args.stopGrace().toNanos() || now > deadline) {
        processes.killAll(); // the grace is over, or the right to write ran out while it stopped
      }
    } else if (held && !holdWanted) {
      go(now, deadline);
    } else if (held) {
      // Held, the process does not run; without a proven right for pauseTimeout, it ends like a paused one.
      if (now - Math.max(deadline, heldSince) > args.pauseTimeout().toNanos()) {
        log("event=fenced action=kill reason=held-without-proof");
        killing = true;
        processes.killAll();
      }
    } else if (holding) {
      return; // stopping every process for the hand-off: the deadline is not the concern of these few milliseconds
    } else {
      fence.check(now, deadline, attached == null || !locks.lines().isEmpty());
    }
  }

  /**
   * Migration hand-off, source side: stop every process of the domain first, and only once all are stopped (the
   * kernel says so) drain and let go of the Exclusive locks, so the target can take them and nothing of ours writes
   * again. The locks held now are remembered: the process may run again only under exactly these (MIG-6).
   */
  private void hold(long now) throws IOException {
    if (!holding) {
      holding = true;
      state.heldLocks = locks.lines();
      processes.stopAll();
      if (child != null) {
        child.signal(Signal.SIGSTOP); // the main process's group too, as before cgroups: harmless beside a freeze
      }
    }
    if (locks.drains() && (child != null || attached != null) && !processes.allStopped()) {
      return; // not every thread has left its system call yet
    }
    locks.releaseExclusive("hand-off");
    locks.writeTokens(runDir);
    holding = false;
    held = true;
    heldSince = now;
    state.heldAtMillis = System.currentTimeMillis();
    update("Held", "stopped for a migration hand-off; Exclusive locks released");
  }

  /** The hand-off (target) or its roll-back (source): run once every wanted lock is held and the right proven. */
  private void go(long now, long deadline) throws IOException {
    List<SupervisorArgs.Lock> wanted = wantedLocks();
    if (state.heldLocks != null && !args.unsafe().contains(SupervisorArgs.Unsafe.STALE_HOLD)
        && !new java.util.HashSet<>(wanted.stream().map(SupervisorArgs.Lock::line).toList())
            .equals(new java.util.HashSet<>(state.heldLocks))) {
      // The grants moved since the hold (another holder, maybe the target, may have run and written), or a disk it held
      // is no longer among them (its grant may be someone else's by now): this process's memory of the disks is stale
      // or its disk is not its own, whatever grant it is offered now. It ends; the agent starts the domain afresh.
      log("event=stale-hold action=kill heldLocks=" + state.heldLocks + " wanted="
          + wanted.stream().map(SupervisorArgs.Lock::line).toList());
      state.staleHold = true;
      killing = true;
      processes.killAll();
      update("Stopping", "held for a hand-off, and its grants moved since: it never runs again; a fresh start follows");
      return;
    }
    if (now <= deadline && locks.lockAll(wanted)) {
      locks.writeTokens(runDir);
      if (child == null) {
        spawn(false);
      } else {
        processes.continueAll();
      }
      held = false;
      fence.cleared();
      state.heldLocks = null;
      state.runningAtMillis = System.currentTimeMillis();
      update("Running", null);
      log("event=continued locks=" + locks.lines());
    }
  }

  /**
   * The end, however it came: every process of the domain is killed and reaped first, then the disks are drained and
   * every lock released (LockSet's rule), then the exit is recorded.
   */
  private int end(Integer mainStatus, String message) {
    if (locks.drains()) {
      processes.killAll();
      long waitingSince = System.nanoTime();
      long said = waitingSince;
      while (processes.anyLeft()) {
        processes.reap();
        processes.killAll();
        if (System.nanoTime() - said > TimeUnit.SECONDS.toNanos(5)) {
          said = System.nanoTime();
          log("event=end-waits pids=" + processes.pids() + " note=the locks go once no process of the domain is left");
        }
        sleep(10);
      }
      processes.reap();
    }
    locks.releaseAll("ended");
    processes.close();
    if (mainStatus == null) {
      update("Exited", message);
      return child == null ? 0 : 1;
    }
    int signal = DomainProcess.terminatingSignal(mainStatus);
    state.exitCode = signal == 0 ? DomainProcess.exitCode(mainStatus) : null;
    state.exitSignal = signal == 0 ? null : signal;
    update("Exited", Boolean.TRUE.equals(state.staleHold) ? "ended: its grants moved during the hand-off" : message);
    return state.exitCode != null ? state.exitCode : 128 + state.exitSignal;
  }

  /** Attach mode: the supervisor ends and the process, which holds no lock of ours, goes on as libvirt's alone. */
  private int detach() {
    locks.releaseAll("detached");
    update("Exited", "detached from process " + attached.pid() + "; it holds no lock");
    return 0;
  }

  /** Hot-plug: the held locks follow the agent's {@code locks} file, if it wrote one. */
  private void syncLocks(boolean proven) throws IOException {
    List<String> lines = runDir.wantedLockLines();
    if (lines == null) {
      return;
    }
    String content = String.join("\n", lines);
    List<SupervisorArgs.Lock> wanted = lines.stream().map(SupervisorArgs.Lock::parse).toList();
    boolean changed = locks.sync(wanted, proven, processes::pids);
    if (changed || !content.equals(locksFileSeen)) {
      locksFileSeen = content;
      locks.writeTokens(runDir);
      update(state.phase, state.message);
    }
  }

  /** The agent's wanted locks: the hot-plug file, else the arguments. */
  private List<SupervisorArgs.Lock> wantedLocks() throws IOException {
    List<String> lines = runDir.wantedLockLines();
    return lines == null ? args.locks() : lines.stream().map(SupervisorArgs.Lock::parse).toList();
  }

  private void update(String phase, String message) {
    state.phase = phase;
    state.message = message;
    state.write(runDir.path());
    log("event=phase phase=" + phase + (message == null ? "" : " message=\"" + message + "\""));
  }

  /** {@code line} is "event=NAME details": written as "time event=NAME domain=D details", one line per event. */
  private void log(String line) {
    int space = line.indexOf(' ');
    String event = space < 0 ? line : line.substring(0, space);
    String details = space < 0 ? "" : line.substring(space);
    System.err.println(java.time.Instant.now() + " " + event + " domain=" + args.domain() + details);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
