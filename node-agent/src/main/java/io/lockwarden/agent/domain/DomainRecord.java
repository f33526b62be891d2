package io.lockwarden.agent.domain;

import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.ExitStatus;
import java.nio.file.Path;

/**
 * What the agent remembers about one domain on its node between passes. Only conveniences live here (back-off, the
 * last exit, a busy lock): after an agent restart they start afresh, which delays nothing that matters for safety.
 */
final class DomainRecord {
  final String uid;
  final Path runDir;
  String namespace;
  String name;
  Supervision supervision;
  /** The domain's process group leader, kept after the supervisor is gone until the group is empty. */
  Long domainPid;
  ExitStatus lastExit;
  /** Process phase after the last exit: Stopped or Failed; null before any exit. */
  DomainPhase exitPhase;
  String runningReason = "NotStarted";
  String runningMessage = "not started yet";
  /** Generation whose run finished for good (Running=False, Completed). */
  Long completedGeneration;
  int failures;
  long notBefore;
  long startedAt;
  boolean stopSent;
  boolean killSent;
  String lastSupervisorPhase;
  /** The supervisor's pause and resume counters as last counted; null until its first state is read after adoption. */
  Long pausesSeen;
  Long resumesSeen;
  /** Set while a foreign holder blocks the start: the lock file and its holder. */
  String busyPath;
  Long busyPid;
  String busyMode;
  String busyLease;
  /** The migration this node's migration fields below are about (its startedAt). */
  String migrationStartedAt;
  /**
   * The supervisor is a migration target's, started before the domain was placed here, for the migration of
   * {@link #migrationStartedAt} (kept in {@link #INCOMING_FOR_FILE} so that an adopting agent knows which).
   */
  boolean incoming;
  static final String INCOMING_FOR_FILE = "incoming-for";
  /** Why this node, as migration target, could not take the domain over; reported, and the operator rolls back. */
  String incomingFailure;
  /** Migration target: when the process ran here with every lock held (wall-clock ms). */
  Long incomingRunningAt;
  /** Migration source: when the process was stopped and its Exclusive locks released (wall-clock ms). */
  Long outgoingReleasedAt;
  /** ExecutableNotAllowed or PathNotAllowed, with its message, while the node's policy refuses the domain. */
  String refusal;
  String refusalMessage;

  DomainRecord(String uid, Path runDir) {
    this.uid = uid;
    this.runDir = runDir;
  }

  String key() {
    return namespace + "/" + name;
  }

  /** A supervisor this agent has just started: nothing sent to it yet, and every pause it reports is new. */
  void launched(Supervision started) {
    supervision = started;
    stopSent = false;
    killSent = false;
    lastSupervisorPhase = null;
    pausesSeen = 0L;
    resumesSeen = 0L;
  }
}
