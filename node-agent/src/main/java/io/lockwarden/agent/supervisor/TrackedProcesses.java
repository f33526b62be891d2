package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.util.List;

/**
 * Every process of one domain as its supervisor sees them, whether it started them ({@link DomainProcesses}) or
 * attached to one another program started ({@link AttachedProcess}): what the enforcement loop pauses, kills and
 * waits for.
 */
interface TrackedProcesses {
  /** Reaps what ended; the main process's wait status once it has ended, else null. */
  Integer reap();

  /** Whether any process of the domain is left; fails closed. */
  boolean anyLeft();

  List<Long> pids();

  /** SIGKILL to every process of the domain. */
  void killAll();

  /** Stops every process of the domain; {@link #allStopped()} says when it is done. */
  void stopAll() throws IOException;

  /** Whether every thread of every process is stopped, as the kernel reports it. */
  boolean allStopped();

  /** Lets every process run again. */
  void continueAll() throws IOException;

  /** Once nothing is left. */
  void close();
}
