package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.LibraryLoader;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * Every process of one domain, as the supervisor tracks them: the process it started and everything that process
 * forks, including children that call setsid or daemonize. Two ways, chosen at start:
 * <ul>
 *   <li>a cgroup v2 directory of the domain's own ({@link DomainCgroup}), where the host allows it: the kernel keeps
 *       every descendant in it, and freezes and kills them all at once;
 *   <li>otherwise the supervisor is a child subreaper (PR_SET_CHILD_SUBREAPER): orphans are re-parented to it instead
 *       of init, so every process of the domain is a descendant of the supervisor while it lives, and it reaps them.
 * </ul>
 * The supervisor is a subreaper in both cases, so it reaps whatever the domain orphans.
 */
final class DomainProcesses implements TrackedProcesses {
  private static final int PR_SET_CHILD_SUBREAPER = 36;
  private static final int WNOHANG = 1;
  private static final int SIGKILL = 9;
  private static final int SIGSTOP = 19;
  private static final int SIGCONT = 18;

  /** prctl(2), which jnr-posix does not cover. */
  public interface LibC {
    int prctl(int option, long arg2, long arg3, long arg4, long arg5);
  }

  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();

  private final DomainCgroup cgroup;
  /** The cgroup this supervisor lives in, which it steps back into after each spawn. */
  private final DomainCgroup home;
  private static final long SELF = ProcessHandle.current().pid();
  private DomainProcess main;
  /** The main process's wait status once reaped. */
  private Integer mainStatus;

  private DomainProcesses(DomainCgroup cgroup, DomainCgroup home) {
    this.cgroup = cgroup;
    this.home = home;
  }

  /**
   * @param cgroupDir the domain's cgroup directory, or null for the subreaper way
   * @throws IOException if the cgroup cannot be made, or this supervisor's own cannot be found to come back to (the
   *     caller falls back, and says so)
   */
  static DomainProcesses start(Path cgroupDir) throws IOException {
    DomainCgroup cgroup = null;
    DomainCgroup home = null;
    if (cgroupDir != null) {
      home = ownCgroup(cgroupDir);
      cgroup = new DomainCgroup(cgroupDir);
      cgroup.create();
    }
    becomeSubreaper();
    return new DomainProcesses(cgroup, home);
  }

  /**
   * The directory of the cgroup this supervisor is in, known by its own pid in that cgroup's list: the agent's home
   * for supervisors beside the domain's cgroup (SupervisorHome), or the one /proc names under the mount. /proc alone
   * is not enough: in a cgroup namespace it names a cgroup outside the namespace as {@code /../..}. Found before any
   * step into the domain's cgroup, or never stepped into: a supervisor left in its domain's cgroup would be frozen and
   * killed with it.
   */
  private static DomainCgroup ownCgroup(Path cgroupDir) throws IOException {
    DomainCgroup beside = new DomainCgroup(cgroupDir.resolveSibling(SupervisorHome.DIR));
    if (beside.pids().contains(SELF)) {
      return beside;
    }
    Path mount = DomainCgroup.mountPoint().orElseThrow(() -> new IOException("no cgroup2 hierarchy"));
    DomainCgroup byProc = new DomainCgroup(DomainCgroup.cgroupOf(SELF, mount));
    if (byProc.pids().contains(SELF)) {
      return byProc;
    }
    throw new IOException("cannot find this supervisor's own cgroup (not in " + beside.dir() + " nor " + byProc.dir()
        + ") to come back to after starting the domain in its own");
  }

  static DomainProcesses withoutCgroup() {
    becomeSubreaper();
    return new DomainProcesses(null, null);
  }

  private static void becomeSubreaper() {
    LibraryLoader.create(LibC.class).load("c").prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }

  /**
   * Starts the main process inside the domain's cgroup: the supervisor steps into it for the spawn, so the child is
   * born there and cannot fork before it is tracked, then steps back out.
   */
  DomainProcess spawn(List<String> command, List<String> environment, Path log, int[] runAs) throws IOException {
    if (cgroup == null) {
      main = DomainProcess.spawn(command, environment, log, runAs);
      return main;
    }
    cgroup.enter(SELF);
    try {
      main = DomainProcess.spawn(command, environment, log, runAs);
    } finally {
      home.enter(SELF);
    }
    return main;
  }

  /** Reaps every ended child (the main process and orphans); returns the main process's wait status once it ended. */
  @Override
  public Integer reap() {
    int[] status = new int[1];
    while (true) {
      int pid = POSIX_CALLS.waitpid(-1, status, WNOHANG);
      if (pid <= 0) {
        return mainStatus;
      }
      if (main != null && pid == main.pid()) {
        mainStatus = status[0];
      }
    }
  }

  /**
   * Whether any process of the domain is left (zombies not yet reaped count as gone: they cannot write). Fails closed:
   * a /proc that cannot be read means some may be left.
   */
  @Override
  public boolean anyLeft() {
    if (cgroup != null) {
      return cgroup.populated();
    }
    List<Long> left = descendantsOrNull();
    return left == null || !left.isEmpty();
  }

  @Override
  public List<Long> pids() {
    return cgroup != null ? cgroup.pids() : descendants();
  }

  /** SIGKILL to every process of the domain. */
  @Override
  public void killAll() {
    if (cgroup != null) {
      cgroup.kill();
    } else {
      descendants().forEach(pid -> POSIX_CALLS.kill(pid.intValue(), SIGKILL));
    }
  }

  /** Stops every process of the domain; {@link #allStopped()} says when it is done. */
  @Override
  public void stopAll() throws IOException {
    if (cgroup != null) {
      cgroup.freeze();
    } else {
      descendants().forEach(pid -> POSIX_CALLS.kill(pid.intValue(), SIGSTOP));
    }
  }

  /**
   * Whether every thread of every process is stopped, as the kernel reports it: only then has each left the system
   * call it was in. Without a cgroup, processes forked since the last look are stopped now and checked next time.
   */
  @Override
  public boolean allStopped() {
    if (cgroup != null) {
      return cgroup.frozen();
    }
    boolean stopped = true;
    for (long pid : descendants()) {
      if (!threadsStopped(pid)) {
        POSIX_CALLS.kill((int) pid, SIGSTOP);
        stopped = false;
      }
    }
    return stopped;
  }

  /** Lets every process run again (a resume, or before a SIGTERM it must handle). */
  @Override
  public void continueAll() throws IOException {
    if (cgroup != null) {
      cgroup.thaw();
    }
    List<Long> pids = pids();
    pids.forEach(pid -> POSIX_CALLS.kill(pid.intValue(), SIGCONT));
  }

  /** Once nothing is left: the cgroup goes too. */
  @Override
  public void close() {
    if (cgroup != null && !cgroup.populated()) {
      cgroup.remove();
    }
  }

  /**
   * A zombie whose threads are all gone: it can no longer write. A thread-group leader that exited while its other
   * threads run also shows Z, and those threads can.
   */
  private static boolean deadZombie(long pid) {
    if (!"Z".equals(ProcStat.state(pid))) {
      return false;
    }
    try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      return tasks.count() <= 1;
    } catch (IOException e) {
      return true; // gone altogether
    }
  }

  static boolean threadsStopped(long pid) {
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks) {
        String state = ProcStat.stateOf(task.resolve("stat"));
        if (state != null && !"T".equals(state) && !"t".equals(state) && !"Z".equals(state)) {
          return false;
        }
      }
      return true;
    } catch (IOException e) {
      return true; // gone
    }
  }

  /** Every live descendant of this supervisor, from the parent links in /proc; empty if /proc cannot be read. */
  private List<Long> descendants() {
    List<Long> found = descendantsOrNull();
    return found == null ? List.of() : found;
  }

  /** The same, or null if /proc cannot be read. */
  private List<Long> descendantsOrNull() {
    Map<Long, List<Long>> children = new HashMap<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString()
        .chars().allMatch(Character::isDigit))) {
      for (Path proc : procs) {
        long pid = Long.parseLong(proc.getFileName().toString());
        String ppid = ProcStat.parentOf(pid);
        if (ppid != null && !deadZombie(pid)) {
          children.computeIfAbsent(Long.parseLong(ppid), k -> new ArrayList<>()).add(pid);
        }
      }
    } catch (IOException e) {
      return null;
    }
    List<Long> found = new ArrayList<>();
    Deque<Long> todo = new ArrayDeque<>(children.getOrDefault(SELF, List.of()));
    while (!todo.isEmpty()) {
      long pid = todo.pop();
      found.add(pid);
      todo.addAll(children.getOrDefault(pid, List.of()));
    }
    return found;
  }
}
