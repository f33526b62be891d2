package io.lockwarden.agent.migration;

import io.lockwarden.agent.domain.DomainGrants;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.fence.DeadlineKeeper;
import io.lockwarden.agent.fence.FenceResponse;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The migration source's side of a hand-off (docs/api.md, "Migration"): Warm holds the process and lets go of its
 * Exclusive locks in one step; Cold stops it. The source reports the release, which the operator moves the grants on;
 * after a roll-back the held process may run again.
 */
public final class MigrationSource {
  private static final Logger log = LoggerFactory.getLogger(MigrationSource.class);

  private final String node;
  private final HoldRelease holdRelease;

  public MigrationSource(String node, NodeHeartbeat heartbeat, FenceResponse fence, DeadlineKeeper deadlines) {
    this.node = node;
    this.holdRelease = new HoldRelease(node, heartbeat, fence, deadlines);
  }

  /** The hand-off, on the source: hold (Warm) or stop (Cold), then note when the Exclusive locks were let go of. */
  public void handOff(DomainRecord record, Supervision supervision, SupervisorState state, MigrationStatus migration) {
    if (migration.mode == MigrationMode.Cold) {
      if (!record.stopSent) {
        log.info("event=hand-off-stop domain={} node={} target={} mode=Cold", record.key(), node, migration.target);
        supervision.stop();
        record.stopSent = true;
      }
      return;
    }
    try {
      if (!supervision.holdRequested()) {
        log.info("event=hand-off-hold domain={} node={} target={}", record.key(), node, migration.target);
        supervision.hold();
      }
    } catch (IOException e) {
      log.error("event=hand-off-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
      return;
    }
    if (state != null && "Held".equals(state.phase) && record.outgoingReleasedAt == null && (state.locks == null
        || state.locks.stream().noneMatch(l -> l.startsWith(LockMode.WRITE.name() + ",")))) {
      record.outgoingReleasedAt = state.heldAtMillis;
      log.info("event=hand-off-released domain={} node={} target={}", record.key(), node, migration.target);
    }
  }

  /** A roll-back: the held source runs again once its supervisor holds every lock and the right is proven. */
  public void resume(DomainRecord record, Supervision supervision, DomainGrants grants) {
    holdRelease.letGo(record, supervision, grants, "source");
  }


  /** status.migration.outgoing, stamped with this migration's startedAt (MIG-5). */
  public SupervisedDomainStatus outgoingStatus(DomainRecord record) {
    MigrationStatus.Outgoing outgoing = new MigrationStatus.Outgoing();
    outgoing.node = node;
    outgoing.startedAt = record.migrationStartedAt;
    outgoing.releasedAtMillis = record.outgoingReleasedAt;
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.migration = new MigrationStatus();
    status.migration.outgoing = outgoing;
    return status;
  }
}
