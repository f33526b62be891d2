package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.LockTarget;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.agent.rundir.RunDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * A supervisor started ahead of its domain ({@code lockwarden-supervisor --spare}): it pays the JVM's start and the
 * native bindings' first use (about a CPU-second, interpreted) while nothing waits, then blocks on its standard input
 * until the agent assigns it a domain ({@link Assignment}). Meanwhile it holds no lock and touches no run directory
 * (its warm-up locks and deletes a file of its own in /tmp, runs {@code true}, and makes itself a subreaper, as every
 * supervisor does); the right to write is checked after the assignment, exactly as for any supervisor.
 *
 * <p>End of file before an assignment means the agent that started it is gone (the kernel closes the pipe's other
 * end when the agent dies), or let it go: the spare exits, as nothing else would ever assign it.
 */
final class SpareSupervisor {
  private SpareSupervisor() {}

  /** @return the supervisor's exit code */
  static int run() {
    try {
      if (System.in.available() == 0) { // started for a domain already waiting (no spare was ready): no head start
        warmUp();
      }
    } catch (IOException | RuntimeException e) {
      // Only a spare's head start is lost; the same calls fail again, and are reported, once it has a domain.
      System.err.println("event=spare-warm-up-failed error=\"" + e + "\"");
    }
    Assignment assignment;
    SupervisorArgs args;
    try {
      assignment = Assignment.read(System.in);
      if (assignment == null) {
        return 0;
      }
      args = SupervisorArgs.parse(assignment.args().toArray(String[]::new));
    } catch (IOException | IllegalArgumentException e) {
      System.err.println("lockwarden-supervisor: bad assignment: " + e.getMessage());
      return 2;
    }
    takeOutput(args.runDir().resolve(RunDir.SUPERVISOR_LOG));
    return SupervisorMain.start(args, assignment.environment());
  }

  /** Uses each native binding once: jnr binds a function on its first call, the slow part of a start. */
  private static void warmUp() throws IOException {
    POSIX posix = POSIXFactory.getNativePOSIX();
    long self = ProcessHandle.current().pid();
    DomainProcesses.withoutCgroup(); // a subreaper now, as every supervisor becomes: harmless with no domain yet
    Signals.kill(self, 0);
    ProcStat.startTime(self);
    Path dir = Files.createTempDirectory("lockwarden-spare-");
    try {
      Path file = Files.createFile(dir.resolve("warm-up"));
      LockTarget.nameOf("warm-up", file, dir);
      try (OfdLocks.HeldLock lock = OfdLocks.tryLock(file, LockMode.WRITE)) {
        OfdLocks.isBusy(file, LockMode.READ);
      }
      SupervisorArgs.parse(new String[] {"--domain", "warm/up", "--run-dir", dir.toString(), "--lock",
          "WRITE,1,warm-up," + file, "--", "true"});
      RunDir runDir = new RunDir(dir);
      runDir.deadline();
      runDir.holdRequested();
      java.time.Instant.now().toString(); // every log line starts with it
      SupervisorState state = new SupervisorState();
      state.phase = "Spare";
      state.write(dir);
      DomainProcess process = DomainProcess.spawn(List.of("true"), List.of("PATH=" + SparePool.PATH_ENV),
          Path.of("/dev/null"), null);
      posix.waitpid(process.pid(), new int[1], 0);
      Files.delete(dir.resolve(SupervisorState.FILE));
      Files.delete(file);
    } finally {
      Files.deleteIfExists(dir);
    }
  }

  /**
   * From here on the supervisor's output (its own lines and anything the JVM prints) goes to its domain's log, as a
   * supervisor's always has, and its standard input is /dev/null. If the log cannot be opened the supervisor says so
   * where it writes now (the agent's spare log) and goes on: its state file, not its log, is what the agent reads.
   */
  private static void takeOutput(Path log) {
    POSIX posix = POSIXFactory.getNativePOSIX();
    System.out.flush();
    System.err.flush();
    int fd = posix.open(log.toString(), DomainProcess.O_WRONLY_CREAT_APPEND, 0644);
    if (fd < 0 || posix.dup2(fd, 1) < 0 || posix.dup2(fd, 2) < 0) {
      System.err.println("event=supervisor-log-unavailable log=" + log + " errno=" + posix.errno());
    }
    if (fd >= 0) {
      posix.close(fd);
    }
    int none = posix.open("/dev/null", 0, 0);
    if (none >= 0) {
      posix.dup2(none, 0);
      posix.close(none);
    }
  }
}
