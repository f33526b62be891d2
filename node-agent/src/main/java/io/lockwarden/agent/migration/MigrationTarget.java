package io.lockwarden.agent.migration;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.domain.DomainGrants;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.domain.SupervisorLauncher;
import io.lockwarden.agent.fence.DeadlineKeeper;
import io.lockwarden.agent.fence.FenceResponse;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration target's side (docs/api.md, "Migration"): before the hand-off, prepare a held supervisor with the
 * source's Shared and ReadOnly disks locked for reading; at the hand-off, once every grant has moved here, take the
 * Exclusive locks and let the process run. A lock someone else holds fails the migration, and the operator rolls
 * back.
 */
public final class MigrationTarget {
  private static final Logger log = LoggerFactory.getLogger(MigrationTarget.class);

  private final String node;
  private final ClusterView view;
  private final NodePolicy policy;
  private final NodeHeartbeat heartbeat;
  private final FenceResponse fence;
  private final HoldRelease holdRelease;
  private final SupervisorLauncher launcher;

  public MigrationTarget(String node, ClusterView view, NodePolicy policy, NodeHeartbeat heartbeat,
      FenceResponse fence, DeadlineKeeper deadlines, SupervisorLauncher launcher) {
    this.node = node;
    this.view = view;
    this.policy = policy;
    this.heartbeat = heartbeat;
    this.fence = fence;
    this.holdRelease = new HoldRelease(node, heartbeat, fence, deadlines);
    this.launcher = launcher;
  }

  /**
   * A target whose every grant has moved here takes over at once, before status.node says so: the grants are what the
   * right to the disks rests on, and waiting for the operator's placement write would add a round trip to the
   * blackout. Its status is still reported only once status.node names this node.
   */
  public boolean takesOver(MigrationStatus migration, DomainGrants grantsIfHere) {
    return migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase) && node.equals(migration.target)
        && !grantsIfHere.held().isEmpty() && grantsIfHere.complete();
  }

  /** Before the grants move here: prepare a held supervisor, or end it when the migration ends. */
  public void prepare(SupervisedDomain domain, DomainRecord record, MigrationStatus migration) {
    Supervision supervision = record.supervision;
    boolean active = MigrationStatus.isActive(migration) && record.incomingFailure == null;
    if (supervision != null) {
      // Not this migration's incoming supervisor either: one of an earlier migration, or the held source copy of the
      // last one (this node is not placed, so none of them runs the domain). It goes, and a fresh one prepares.
      if ((!active || !record.incoming) && !record.killSent) {
        log.info("event=incoming-ended domain={} node={} phase={} forThisMigration={}", record.key(), node,
            migration.phase, record.incoming);
        record.kill();
      }
      return;
    }
    if (!active || record.remains.alive() || !MigrationStatus.isActive(migration)) {
      return;
    }
    SupervisedDomainSpec spec = domain.getSpec();
    String refusal = policy.refuseCommand(spec.command);
    if (refusal != null) {
      record.incomingFailure = refusal;
      return;
    }
    List<SupervisorArgs.Lock> locks = new ArrayList<>();
    String uid = domain.getMetadata().getUid();
    for (DomainDisk disk : spec.disks == null ? List.<DomainDisk>of() : spec.disks) {
      if (disk.mode == null || disk.mode == AccessMode.Exclusive) {
        continue; // Exclusive disks are locked only at the hand-off
      }
      // The source's grant: among the leases this domain holds (the holder index), the one the disk names.
      DiskLease lease = view.leasesHeldBy(uid).stream().filter(l -> disk.leaseName != null
          ? disk.leaseName.equals(l.getMetadata().getName()) : disk.path.equals(l.getSpec().path))
          .findFirst().orElse(null);
      LeaseHolder holder = lease == null || lease.getStatus() == null ? null
          : lease.getStatus().holders.stream().filter(h -> uid.equals(h.uid)).findFirst().orElse(null);
      if (holder == null) {
        return; // the source's grant is not in the cache yet
      }
      try {
        locks.add(new SupervisorArgs.Lock(LockMode.READ, holder.epoch, lease.getMetadata().getName(),
            lease.getSpec().path, policy.canonicalDisk(lease.getSpec().path)));
      } catch (NodePolicy.Refused e) {
        record.incomingFailure = e.getMessage();
        return;
      }
    }
    long validUntil = heartbeat.validUntil();
    if (!fence.startsAllowed() || validUntil - System.nanoTime() < SupervisorLauncher.START_MARGIN.toNanos()) {
      return;
    }
    try {
      SupervisorLauncher.runDirectory(record.runDir.path());
      record.runDir.writeIncomingFor(migration.startedAt); // first: an agent that adopts it knows which migration
      MigrationMode mode = migration.mode == null ? MigrationMode.Warm : migration.mode;
      launcher.launch(domain, record, locks, mode, validUntil);
      record.incoming = true;
      record.incomingRunningAt = null;
      log.info("event=incoming-started domain={} node={} source={} mode={} supervisorPid={}", record.key(), node,
          migration.source, mode, record.supervision.pid());
    } catch (IOException e) {
      record.incomingFailure = "cannot start the incoming supervisor: " + e.getMessage();
      log.error("event=incoming-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  /** At the hand-off, the grants here: the held process runs once its supervisor holds every lock. */
  public void go(DomainRecord record, Supervision supervision, DomainGrants grants) {
    holdRelease.letGo(record, supervision, grants, "target");
  }


  /** A lock it cannot take fails the migration, and the operator rolls back. */
  public void refuseHandOff(DomainRecord record, Supervision supervision, SupervisorState state) {
    record.incomingFailure = "byte 0 of " + state.busyPath + " is locked outside lockwarden"
        + (state.busyHolderPid != null ? " by pid " + state.busyHolderPid : "");
    log.warn("event=hand-off-refused domain={} node={} reason=\"{}\"", record.key(), node, record.incomingFailure);
    record.kill();
  }

  /** status.migration.incoming, stamped with this migration's startedAt (MIG-5). */
  public SupervisedDomainStatus incomingStatus(DomainRecord record) {
    SupervisorState state = record.supervision == null ? null : record.supervision.state().orElse(null);
    if (state != null && "Running".equals(state.phase) && record.incoming && state.runningAtMillis != null) {
      record.incomingRunningAt = state.runningAtMillis;
    }
    MigrationStatus.Incoming incoming = new MigrationStatus.Incoming();
    incoming.node = node;
    incoming.startedAt = record.migrationStartedAt;
    incoming.ready = record.incoming && record.supervision != null && state != null && "Held".equals(state.phase)
        && record.incomingFailure == null ? Boolean.TRUE : null;
    incoming.runningAtMillis = record.incomingRunningAt;
    incoming.failure = record.incomingFailure;
    incoming.stopped = record.incomingFailure != null && record.supervision == null
        && !record.remains.alive() ? Boolean.TRUE : null;
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.migration = new MigrationStatus();
    status.migration.incoming = incoming;
    return status;
  }
}
