package io.lockwarden.agent.fence;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.cluster.ClusterView.FreshLeases;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.api.v1alpha1.DiskLease;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's answer to a fence mark on its Lease: the operator declared this node dead and revoked, or is revoking,
 * every grant it held. Every supervisor is killed; every grant the node held at the mark, as the fresh list, the cache
 * and the supervisors' own locks say (any of them may lag), becomes spent, never used again whatever the cache says;
 * and nothing starts again until the cache has caught up with the fresh list taken at the mark. The mark is cleared
 * once none of those grants is left on a DiskLease.
 */
public final class FenceResponse {
  private static final Logger log = LoggerFactory.getLogger(FenceResponse.class);

  private final String node;
  private final NodeHeartbeat heartbeat;
  private final ClusterView view;
  private final SpentGrants spent;
  private final AgentMetrics metrics;
  /** The mark already acted on. */
  private String handledMark;
  /** The grants of the mark still listed on a DiskLease, by the latest fresh list. */
  private final Set<String> stillListed = new HashSet<>();
  /** The fresh list taken at the mark, until the cache has caught up with it; null when it has. */
  private FreshLeases catchUp;

  public FenceResponse(String node, NodeHeartbeat heartbeat, ClusterView view, SpentGrants spent,
      AgentMetrics metrics) {
    this.node = node;
    this.heartbeat = heartbeat;
    this.view = view;
    this.spent = spent;
    this.metrics = metrics;
  }

  /** After a renewal that found {@code mark} on the Lease; {@code fresh} was listed after that renewal. */
  public void onMark(String mark, FreshLeases fresh, Collection<DomainRecord> records) {
    Set<String> listed = grantsOfThisNode(fresh.items());
    if (!mark.equals(handledMark)) {
      Set<String> atMark = new HashSet<>(listed);
      for (DomainRecord record : records) {
        view.leasesHeldBy(record.uid).forEach(l -> l.getStatus().holders.stream()
            .filter(h -> node.equals(h.node) && h.epoch != null)
            .forEach(h -> atMark.add(l.getMetadata().getName() + "," + h.epoch)));
        if (record.supervision != null) {
          record.supervision.wantedLocks().forEach(l -> atMark.add(l.lease() + "," + l.epoch()));
          record.supervision.state().filter(s -> s.locks != null).ifPresent(s -> s.locks.stream()
              .map(SupervisorArgs.Lock::parse).forEach(l -> atMark.add(l.lease() + "," + l.epoch())));
        }
        if (record.supervision != null && record.supervision.alive()) {
          record.kill();
          metrics.fenceAction("kill");
          log.warn("event=fenced-kill domain={} node={} fencedAt={} grants={}", record.key(), node, mark,
              record.supervision.wantedLocks().stream().map(l -> l.lease() + "@" + l.epoch()).toList());
        }
      }
      spent.addAll(atMark);
      stillListed.clear();
      stillListed.addAll(atMark);
      catchUp = fresh;
      handledMark = mark;
      log.warn("event=fence-handled node={} fencedAt={} spentGrants={} note=none of them is used again", node, mark,
          atMark.size());
    }
    stillListed.retainAll(listed);
    if (stillListed.isEmpty()) {
      heartbeat.clearFence(mark);
    }
  }

  /**
   * Whether a process may be started or continued now: no fence mark pending, and the cache has taken in everything the
   * fresh list at the last mark showed, so no start is decided on data older than the fence.
   */
  public boolean startsAllowed() {
    if (heartbeat.fencedSince() != null) {
      return false;
    }
    if (catchUp != null && view.caughtUpWith(catchUp)) {
      log.info("event=fence-caught-up node={} note=the cache is as new as the list taken at the fence", node);
      catchUp = null;
    }
    return catchUp == null;
  }

  /** Whether the spent grants may be checked against the cache (it is not behind the last fence). */
  public boolean cacheTrusted() {
    return catchUp == null;
  }

  private Set<String> grantsOfThisNode(Collection<DiskLease> leases) {
    Set<String> keys = new HashSet<>();
    for (DiskLease lease : leases) {
      if (lease.getStatus() != null) {
        lease.getStatus().holders.stream().filter(h -> node.equals(h.node))
            .forEach(h -> keys.add(lease.getMetadata().getName() + "," + h.epoch));
      }
    }
    return keys;
  }
}
