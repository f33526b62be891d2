package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.rundir.RunDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import jnr.constants.platform.Signal;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The agent's handle on one supervisor process: started by this agent, or adopted from the run directory after the
 * agent's own restart (the seed's NEW_ATTACH). A supervisor is known by its pid <em>and</em> its start time, so a pid
 * the kernel has given to another process since is never mistaken for it.
 */
public final class Supervision {
  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();
  private static final String PATH = ProcessHandle.current().info().command().orElse("java");
  private static final String CONTEXT = readContext();

  private final RunDir runDir;
  private final long pid;
  private final String startTime;
  private final SupervisorArgs args;

  private Supervision(RunDir runDir, long pid, String startTime, SupervisorArgs args) {
    this.runDir = runDir;
    this.pid = pid;
    this.startTime = startTime;
    this.args = args;
  }

  /** The seed's GetSupervisorPath: the program the supervisor runs as (the JVM's launcher). */
  public static String path() {
    return PATH;
  }

  /** The seed's GetSupervisorContext: this process's SELinux label, which the supervisor inherits, or "". */
  public static String context() {
    return CONTEXT;
  }

  private static String readContext() {
    try {
      return Files.readString(Path.of("/proc/self/attr/current")).replace("\0", "").trim();
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /**
   * Starts the domain's supervisor: a spare from {@code spares} (or one started now), assigned the domain. It runs in a
   * session of its own (setsid), with its output in the run directory and nothing tied to the agent: the agent may
   * die or be upgraded, the supervisor carries on.
   */
  public static Supervision launch(SupervisorArgs args, Map<String, String> environment, SparePool spares)
      throws IOException {
    byte[] assignment;
    try {
      assignment = new Assignment(environment, args.toArgs()).encode();
    } catch (IllegalArgumentException e) {
      throw new IOException("cannot hand the domain to a supervisor: " + e.getMessage(), e);
    }
    RunDir runDir = new RunDir(args.runDir());
    runDir.clearForLaunch(args.incoming() != null);
    SparePool.Spare spare = spares.take();
    try {
      spare.assign(assignment);
    } catch (IOException e) {
      spare = spares.start(runDir.resolve(RunDir.SUPERVISOR_LOG)); // it died while waiting
      spare.assign(assignment);
    }
    return new Supervision(runDir, spare.pid, spare.startTime, args);
  }

  /** A supervisor from an earlier agent, if its state file names a live process with the same start time. */
  public static Optional<Supervision> adopt(RunDir runDir) {
    try {
      SupervisorState state = SupervisorState.read(runDir.path());
      if (state.supervisorStartTime == null || state.args == null
          || !state.supervisorStartTime.equals(ProcStat.startTime(state.supervisorPid))) {
        return Optional.empty();
      }
      return Optional.of(new Supervision(runDir, state.supervisorPid, state.supervisorStartTime,
          SupervisorArgs.parse(state.args.toArray(String[]::new))));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  public long pid() {
    return pid;
  }

  public RunDir runDir() {
    return runDir;
  }

  public SupervisorArgs args() {
    return args;
  }

  /** Alive and still the process we started: same pid, same start time. */
  public boolean alive() {
    return Objects.equals(startTime, ProcStat.startTime(pid)) && !"Z".equals(ProcStat.state(pid));
  }

  /** What the supervisor last wrote, or empty before it wrote anything. */
  public Optional<SupervisorState> state() {
    try {
      return Optional.of(SupervisorState.read(runDir.path()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The seed's Shutdown: the supervisor stops the domain with SIGTERM, then SIGKILL after its stop grace. */
  public void stop() {
    signal(Signal.SIGTERM);
  }

  /**
   * With prejudice (the seed's Free): every process of the domain is SIGKILLed at once, here; the supervisor, told
   * through its run directory, reaps them, drains the disks and releases the locks, then exits.
   */
  public void kill() {
    try {
      runDir.requestKill();
    } catch (IOException e) {
      signal(Signal.SIGKILL); // cannot tell it: end it, and the domain dies with it (parent-death signal)
    }
    remains().kill();
  }

  /**
   * For a supervisor that does not end by itself after {@link #kill()} (stopped, or hung) once its domain is gone:
   * drains the Exclusive disks it still locks, as it would have, then SIGKILLs it, which drops its locks.
   */
  public void forceEnd() {
    state().filter(s -> s.locks != null).ifPresent(s -> s.locks.stream().map(SupervisorArgs.Lock::parse)
        .filter(l -> l.mode() == io.lockwarden.agent.lockspace.LockMode.WRITE).forEach(l -> {
          try {
            LockSet.fdatasync(l.path());
          } catch (IOException e) {
            // the domain is gone; only the storage's own cache is unsynced
          }
        }));
    signal(Signal.SIGKILL);
  }

  /** The drain of one disk (fdatasync), for a supervisor that died before its own. */
  public static void drain(Path disk) throws IOException {
    LockSet.fdatasync(disk);
  }

  /** What the domain's processes are: its cgroup, else its main process by pid and start time. */
  public DomainRemains remains() {
    return DomainRemains.of(args, state().orElse(null));
  }

  private void signal(Signal signal) {
    if (alive()) {
      POSIX_CALLS.kill((int) pid, signal.intValue());
    }
  }

  /** Asks the supervisor to hold the process stopped (or not started) for a migration hand-off. */
  public void hold() throws IOException {
    runDir.requestHold();
  }

  /** Lets a held process run again, once the supervisor holds every wanted lock. */
  public void releaseHold() throws IOException {
    runDir.releaseHold();
  }

  public boolean holdRequested() {
    return runDir.holdRequested();
  }

  /** Writes the wanted lock set for hot-plug (see {@link SupervisorMain}). */
  public void wantLocks(List<SupervisorArgs.Lock> locks) throws IOException {
    runDir.writeWantedLockLines(locks.stream().map(SupervisorArgs.Lock::line).toList());
  }

  /** The wanted lock set: the hot-plug file if written, else the supervisor's arguments. */
  public List<SupervisorArgs.Lock> wantedLocks() {
    try {
      List<String> lines = runDir.wantedLockLines();
      if (lines != null) {
        return lines.stream().map(SupervisorArgs.Lock::parse).toList();
      }
    } catch (IOException | RuntimeException e) {
      // fall back to the arguments
    }
    return args.locks();
  }
}
