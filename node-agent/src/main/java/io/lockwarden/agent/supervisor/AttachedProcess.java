package io.lockwarden.agent.supervisor;

import java.util.List;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * The one process of an attached domain: QEMU, started by libvirt, not by us, so it is neither our child nor in a
 * cgroup of ours. It is known by its pid and start time, so a later process that reuses the pid is never signalled.
 * Pause is SIGSTOP and resume SIGCONT, as virtlockd's successor would do it; libvirt's own calls to that QEMU wait
 * while it is stopped. Threads QEMU starts are in its thread group and stop with it.
 */
final class AttachedProcess implements TrackedProcesses {
  private static final int SIGKILL = 9;
  private static final int SIGSTOP = 19;
  private static final int SIGCONT = 18;
  /** The status reported when the process has gone: we are not its parent, so its real status is libvirt's to read. */
  static final int GONE = 0;

  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();

  private final SupervisorArgs.Attach attach;
  private final long pid;

  AttachedProcess(SupervisorArgs.Attach attach) {
    this.attach = attach;
    this.pid = attach.pid();
  }

  long pid() {
    return pid;
  }

  boolean alive() {
    return attach.alive();
  }

  @Override
  public Integer reap() {
    return alive() ? null : GONE;
  }

  @Override
  public boolean anyLeft() {
    return alive();
  }

  @Override
  public List<Long> pids() {
    return alive() ? List.of(pid) : List.of();
  }

  @Override
  public void killAll() {
    signal(SIGKILL);
  }

  @Override
  public void stopAll() {
    signal(SIGSTOP);
  }

  @Override
  public boolean allStopped() {
    return !alive() || DomainProcesses.threadsStopped(pid);
  }

  @Override
  public void continueAll() {
    signal(SIGCONT);
  }

  /** SIGTERM: QEMU shuts down on it. */
  void terminate() {
    signal(15);
  }

  @Override
  public void close() {}

  private void signal(int signal) {
    if (alive()) {
      POSIX_CALLS.kill((int) pid, signal);
    }
  }
}
