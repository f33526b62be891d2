package io.lockwarden.agent.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * What may be left of a domain's processes once its supervisor is gone, as the agent sees it: the domain's cgroup if it
 * had one (the kernel's own count, which no pid reuse can fool), else its main process's group, identified by pid
 * <em>and</em> start time so that nothing is ever signalled that is not the domain's (docs/safety.md, AGENT-7).
 *
 * @param cgroup the domain's cgroup directory, or null
 * @param pid the domain's main process, leader of its process group, or null
 * @param startTime that process's start time (field 22 of /proc/pid/stat), or null if unknown
 * @param group whether {@code pid} leads a process group of the domain's own (a process we started); an attached
 *     process (QEMU under libvirt) is that one process only
 */
public record DomainRemains(Path cgroup, Long pid, String startTime, boolean group) {
  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();

  public static DomainRemains none() {
    return new DomainRemains(null, null, null, true);
  }

  /**
   * What a supervisor with these arguments and last state may leave behind. An attached process whose supervisor
   * ended on its own (it detached, or the process ended), or died holding no lock, is not ours to kill; one whose
   * supervisor died holding locks is: its locks went with the supervisor, as a started domain dies with its own.
   */
  public static DomainRemains of(SupervisorArgs args, SupervisorState state) {
    if (args != null && args.attach() != null) {
      boolean heldLocks = state == null ? !args.locks().isEmpty() : state.locks != null && !state.locks.isEmpty();
      return state != null && "Exited".equals(state.phase) || !heldLocks ? none()
          : new DomainRemains(null, args.attach().pid(), args.attach().startTime(), false);
    }
    // A negative control without the drain rule looks only at the main process's group, as before cgroups.
    Path cgroup = args == null || args.unsafe().contains(SupervisorArgs.Unsafe.DRAIN) ? null : args.cgroup();
    return new DomainRemains(cgroup, state == null ? null : state.pid, state == null ? null : state.pidStartTime, true);
  }

  /** Whether any process of the domain may be left; it may still write, so nothing of it is released yet. */
  public boolean alive() {
    if (cgroup != null && new DomainCgroup(cgroup).exists()) {
      return new DomainCgroup(cgroup).populated();
    }
    if (cgroup != null && !Files.isDirectory(cgroup.getParent())) {
      // The agent that started it had this cgroup root; this one does not see it (cgroupRoot or the pod's cgroup view
      // changed under running domains). What forked away from the main process would be missed: fail closed.
      return true;
    }
    if (pid == null || pid <= 1) {
      return false;
    }
    String now = ProcStat.startTime(pid);
    if (!group) {
      return ProcStat.runs(pid, startTime);
    }
    if (now != null) {
      // The leader lives: ours if its start time is; a different one means ours ended and its pid was reused, which
      // the kernel does only once nothing uses it as a process group any more.
      return startTime == null || startTime.equals(now);
    }
    return POSIX_CALLS.kill(-pid.intValue(), 0) == 0; // the leader is gone; members of its group may not be
  }

  /** SIGKILL to what is left, and only to that. */
  public void kill() {
    if (cgroup != null && new DomainCgroup(cgroup).exists()) {
      new DomainCgroup(cgroup).kill();
      return;
    }
    if (pid == null || pid <= 1 || startTime == null) {
      return; // never signal a pid whose start time is unknown
    }
    String now = ProcStat.startTime(pid);
    if (!group) {
      if (Objects.equals(startTime, now)) {
        POSIX_CALLS.kill(pid.intValue(), 9);
      }
      return;
    }
    if (now == null || Objects.equals(startTime, now)) {
      POSIX_CALLS.kill(-pid.intValue(), 9);
    }
  }

  /** Removes an empty cgroup the domain leaves behind. */
  public void cleanUp() {
    if (cgroup != null && !alive()) {
      new DomainCgroup(cgroup).remove();
    }
  }
}
