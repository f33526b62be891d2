package io.lockwarden.agent.migration;

import io.lockwarden.agent.domain.DomainGrants;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.fence.DeadlineKeeper;
import io.lockwarden.agent.fence.FenceResponse;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.supervisor.Supervision;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets a held process go, for either side of a hand-off (the target taking over, the source after a roll-back): on
 * every grant here, with no fence pending and a proven right, the first deadline of this run is written, then the
 * hold is lifted; the supervisor takes every lock, and checks what a held source may run under (MIG-6), before the
 * process runs.
 */
final class HoldRelease {
  private static final Logger log = LoggerFactory.getLogger(HoldRelease.class);

  private final String node;
  private final NodeHeartbeat heartbeat;
  private final FenceResponse fence;
  private final DeadlineKeeper deadlines;

  HoldRelease(String node, NodeHeartbeat heartbeat, FenceResponse fence, DeadlineKeeper deadlines) {
    this.node = node;
    this.heartbeat = heartbeat;
    this.fence = fence;
    this.deadlines = deadlines;
  }

  /** @param role "source" or "target", for the log */
  void letGo(DomainRecord record, Supervision supervision, DomainGrants grants, String role) {
    long validUntil = heartbeat.validUntil();
    if (!grants.complete() || !fence.startsAllowed() || validUntil <= System.nanoTime()) {
      return;
    }
    try {
      deadlines.grant(record, validUntil);
      supervision.releaseHold();
      log.info("event=hand-off-go domain={} node={} role={}", record.key(), node, role);
    } catch (IOException e) {
      log.error("event=hand-off-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }
}
