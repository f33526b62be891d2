package io.lockwarden.agent.domain;

import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.agent.supervisor.DomainRemains;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.ExitStatus;

/**
 * What the agent remembers about one domain on its node between passes: a plain record that the agent's parts read and
 * write under the agent's one lock. Only conveniences live here (back-off, the last exit, a busy lock): after an agent
 * restart they start afresh, which delays nothing that matters for safety. What safety needs to survive a restart is
 * in the run directory or on the API server.
 */
public final class DomainRecord {
  public final String uid;
  public final RunDir runDir;
  public String namespace;
  public String name;
  public Supervision supervision;
  /** What is left of the domain's processes after its supervisor is gone, until nothing is. */
  public DomainRemains remains = DomainRemains.none();
  /**
   * Exclusive disks to sync before anything is reported released: a supervisor that died without its own drain (a
   * crash, an OOM kill) leaves it to the agent, once nothing of the domain is left (SUP-5).
   */
  public java.util.List<java.nio.file.Path> drainOwed = java.util.List.of();
  /** When a kill was sent to the supervisor (nanoTime), to end it by force if it does not end by itself. */
  public long killSentAt;
  public ExitStatus lastExit;
  /** Process phase after the last exit: Stopped or Failed; null before any exit. */
  public DomainPhase exitPhase;
  public String runningReason = "NotStarted";
  public String runningMessage = "not started yet";
  /** Generation whose run finished for good (Running=False, Completed). */
  public Long completedGeneration;
  public int failures;
  public long notBefore;
  public long startedAt;
  public boolean stopSent;
  public boolean killSent;
  public String lastSupervisorPhase;
  /** The supervisor's pause and resume counters as last counted; null until its first state is read after adoption. */
  public Long pausesSeen;
  public Long resumesSeen;
  /** Set while a foreign holder blocks the start: the lock file and its holder. */
  public String busyPath;
  public Long busyPid;
  public String busyMode;
  public String busyLease;
  /** The migration this node's migration fields below are about (its startedAt). */
  public String migrationStartedAt;
  /**
   * The supervisor is a migration target's, started before the domain was placed here, for the migration of
   * {@link #migrationStartedAt} (kept in the run directory's incoming-for file so that an adopting agent knows which).
   */
  public boolean incoming;
  /** Why this node, as migration target, could not take the domain over; reported, and the operator rolls back. */
  public String incomingFailure;
  /** Migration target: when the process ran here with every lock held (wall-clock ms). */
  public Long incomingRunningAt;
  /** Migration source: when the process was stopped and its Exclusive locks released (wall-clock ms). */
  public Long outgoingReleasedAt;
  /** The supervisor was stopped to release an unplugged disk it kept open (unplugPolicy: Restart). */
  public boolean restartForUnplug;
  /** ExecutableNotAllowed or PathNotAllowed, with its message, while the node's policy refuses the domain. */
  public String refusal;
  public String refusalMessage;
  /** The refusal is of the start itself (the program, or a disk to start with): the domain is Failed. */
  public boolean refusedStart;
  /** The generation the start was refused for: a later spec is tried afresh. */
  public Long refusedGeneration;

  public DomainRecord(String uid, RunDir runDir) {
    this.uid = uid;
    this.runDir = runDir;
  }

  public String key() {
    return namespace + "/" + name;
  }

  /** The seed's Free for this domain's supervisor: every process of the domain killed now, the supervisor told. */
  public void kill() {
    supervision.kill();
    if (!killSent) {
      killSent = true;
      killSentAt = System.nanoTime();
    }
  }

  /** A supervisor this agent has just started: nothing sent to it yet, and every pause it reports is new. */
  public void launched(Supervision started) {
    supervision = started;
    stopSent = false;
    killSent = false;
    lastSupervisorPhase = null;
    pausesSeen = 0L;
    resumesSeen = 0L;
  }
}
