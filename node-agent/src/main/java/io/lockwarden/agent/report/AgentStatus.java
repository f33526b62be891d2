package io.lockwarden.agent.report;

import io.fabric8.kubernetes.api.model.Condition;
import io.lockwarden.agent.domain.DomainGrants;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.lockspace.LockTarget;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.api.v1alpha1.SupervisorInfo;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The agent's part of a domain's status, built in one place from what the agent knows: the supervisor's state, the
 * record's memory, the grants and the releases. Applied by {@link StatusReporter} as field manager lockwarden-agent.
 */
public final class AgentStatus {
  private final String node;

  public AgentStatus(String node) {
    this.node = node;
  }

  public SupervisedDomainStatus build(SupervisedDomain domain, DomainRecord record, DomainGrants grants,
      List<ReleasedGrant> released) {
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    Supervision supervision = record.supervision;
    SupervisorState state = supervision == null ? null : supervision.state().orElse(null);
    String supervisorPhase = state == null ? null : state.phase;
    if (supervision != null) {
      status.supervisorPid = supervision.pid();
      status.pid = state == null ? null : state.pid;
      status.supervisor = new SupervisorInfo();
      status.supervisor.path = Supervision.path();
      status.supervisor.context = Supervision.context();
      status.supervisor.args = supervision.args().toArgs();
      status.phase = switch (supervisorPhase == null ? "" : supervisorPhase) {
        case "Running" -> DomainPhase.Running;
        case "Paused" -> DomainPhase.Paused;
        case "Stopping" -> DomainPhase.Stopping;
        default -> DomainPhase.Starting;
      };
    } else if (record.exitPhase != null && (!grants.complete() || "BackOff".equals(record.runningReason)
        || Objects.equals(record.completedGeneration, domain.getMetadata().getGeneration()))) {
      // Not while it is about to start again: then the operator says Starting, and two writers would take turns.
      status.phase = record.exitPhase;
    }
    Condition refusedBefore = refusedBefore(domain, record);
    if (supervision == null && (refusedNow(domain, record) || refusedBefore != null)) {
      status.phase = DomainPhase.Failed; // and it asks for no lease (DomainIntent.refused): its disks stay free
    }
    status.lastExit = record.lastExit;
    if (state != null && state.locks != null && !state.locks.isEmpty()) {
      status.locks = state.locks.stream().map(SupervisorArgs.Lock::parse)
          .map(l -> new ReleasedGrant(l.lease(), null, l.epoch())).toList();
    }
    status.released = released.isEmpty() ? null : released;
    status.conditions = conditions(domain, record, grants, state);
    return status;
  }

  private List<Condition> conditions(SupervisedDomain domain, DomainRecord record, DomainGrants grants,
      SupervisorState state) {
    Supervision supervision = record.supervision;
    String supervisorPhase = state == null ? null : state.phase;
    List<Condition> previous = domain.getStatus() == null ? null : domain.getStatus().conditions;
    Long generation = domain.getMetadata().getGeneration();
    Instant now = Instant.now();
    List<Condition> conditions = new ArrayList<>();
    boolean running = "Running".equals(supervisorPhase);
    String reason = running ? "Running" : supervision != null && supervisorPhase != null
        && !"Starting".equals(supervisorPhase) ? supervisorPhase : record.runningReason;
    String message = running ? "pid " + state.pid + " runs with every local lock held"
        : supervision != null && state != null && state.message != null ? state.message : record.runningMessage;
    Condition refusedBefore = refusedBefore(domain, record);
    if (supervision == null && refusedNow(domain, record)) {
      reason = record.refusal;
      message = record.refusalMessage + "; the domain holds no lease until its spec changes";
    } else if (supervision == null && refusedBefore != null) {
      reason = refusedBefore.getReason(); // said before this agent's restart, for this generation: still so
      message = refusedBefore.getMessage();
    } else if (supervision == null && !grants.complete() && !DomainConditions.REASON_COMPLETED.equals(reason)
        && (!"Stopped".equals(reason) || DomainIntent.wantsLeases(domain))) {
      reason = "NotStarted";
      message = "waiting for every lease to be granted on " + node;
    }
    conditions.add(Conditions.next(previous, DomainConditions.RUNNING, running, reason, message, generation, now));
    String busyPath = state != null && state.busyPath != null ? state.busyPath : record.busyPath;
    Long busyPid = state != null && state.busyPath != null ? state.busyHolderPid : record.busyPid;
    SupervisorArgs.Lock busyLock = state != null && state.busyPath != null
        ? lockOn(supervision.wantedLocks(), supervision.args(), state.busyPath) : null;
    String busyLease = busyLock != null ? busyLock.lease() : record.busyLease;
    conditions.add(Conditions.next(previous, DomainConditions.LOCAL_LOCK_BUSY, busyPath != null,
        busyPath != null ? "ForeignHolder" : "NoForeignHolder",
        // "DiskLease <name>:" first: the operator shows the conflict on that DiskLease.
        busyPath != null ? "DiskLease " + busyLease + ": byte 0 of " + busyPath + " is locked outside lockwarden"
            + (busyPid != null ? " by pid " + busyPid : "") + "; the domain starts as soon as it is free"
            : "no foreign holder of the domain's local locks", generation, now));
    List<String> pending = state == null ? null : state.unplugPending;
    conditions.add(Conditions.next(previous, DomainConditions.UNPLUG_PENDING, pending != null,
        pending != null ? "DiskOpen" : "NoPendingUnplug",
        pending != null ? String.join("; ", pending) + "; its lock and lease are kept until it is closed or the domain "
            + "exits (spec.unplugPolicy: Restart restarts the domain instead)" : "no unplugged disk is still open",
        generation, now));
    if (DomainIntent.attached(domain)) {
      boolean attached = supervision != null && state != null && state.pid != null && "Running".equals(state.phase);
      conditions.add(Conditions.next(previous, DomainConditions.ATTACHED, attached,
          attached ? "ProcessWatched" : "NoProcess",
          attached ? "process " + state.pid + ", started by libvirt, is watched and fenced by its supervisor"
              : "no process of this libvirt domain is watched on node " + node, generation, now));
    }
    if (record.refusal != null) {
      conditions.add(Conditions.next(previous, record.refusal, true, record.refusal, record.refusalMessage,
          generation, now));
    }
    conditions.sort(Comparator.comparing(Condition::getType));
    return conditions;
  }

  /** This agent refused to start the domain's current generation. */
  private static boolean refusedNow(SupervisedDomain domain, DomainRecord record) {
    return record.refusedStart && Objects.equals(record.refusedGeneration, domain.getMetadata().getGeneration());
  }

  /** A start refusal this agent no longer remembers (it restarted) but the domain's status states for its generation. */
  private static Condition refusedBefore(SupervisedDomain domain, DomainRecord record) {
    if (refusedNow(domain, record) || !DomainIntent.refused(domain)) {
      return null;
    }
    return DomainIntent.refusal(domain);
  }

  /** The lock whose lock file is {@code lockFile}, or null. */
  public static SupervisorArgs.Lock lockOn(List<SupervisorArgs.Lock> locks, SupervisorArgs args, String lockFile) {
    return locks.stream().filter(l -> LockTarget.nameOf(l.name(), l.path(), args.lockspaceDir()).toString().equals(lockFile))
        .findFirst().orElse(null);
  }
}
