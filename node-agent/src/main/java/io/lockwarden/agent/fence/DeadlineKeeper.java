package io.lockwarden.agent.fence;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only writer of a domain's right to write: the {@code deadline} file its supervisor enforces (docs/safety.md,
 * TIME-2, AGENT-2). A deadline is written at a start, at a hand-off's go, and after each successful renewal for every
 * supervisor whose every lock, wanted or still held, is a grant to its domain on this node at the same epoch and mode,
 * and not spent.
 */
public final class DeadlineKeeper {
  private static final Logger log = LoggerFactory.getLogger(DeadlineKeeper.class);

  private final String node;
  private final ClusterView view;
  private final SpentGrants spent;

  public DeadlineKeeper(String node, ClusterView view, SpentGrants spent) {
    this.node = node;
    this.view = view;
    this.spent = spent;
  }

  /**
   * After a renewal: extends each confirmed supervisor to {@code validUntil}, never back. A renewal that hung on a
   * connection an outage left dead lands with a right counted from when it was sent, which may end before what
   * promises proved meanwhile (TIME-4): writing it paused the domains at the heal of every partition.
   *
   * @param fresh a fresh list when a deadline already passed or a fence is pending; null to confirm from the cache
   */
  public void extend(Collection<DomainRecord> records, long validUntil, Collection<DiskLease> fresh) {
    Map<String, DiskLease> byName = new HashMap<>();
    if (fresh != null) {
      fresh.forEach(l -> byName.put(l.getMetadata().getName(), l));
    }
    for (DomainRecord record : records) {
      Supervision supervision = record.supervision;
      if (supervision == null || !supervision.alive()) {
        continue;
      }
      List<SupervisorArgs.Lock> wanted = supervision.wantedLocks();
      if (record.incoming && wanted.stream().allMatch(l -> l.mode() == LockMode.READ) && supervision.holdRequested()) {
        // A prepared migration target: its process is held and its read locks are compatible with the source's
        // grants, which it does not hold yet. Kept alive while its agent lives; it takes nothing more before the
        // grants move here.
        raise(record, validUntil);
        continue;
      }
      List<SupervisorArgs.Lock> locks = new ArrayList<>(wanted);
      // Locks it still holds but no longer wants (an unplug in progress) must stay proven too; a lock being swapped
      // for the same lease at another epoch (a migration) is not.
      supervision.state().filter(s -> s.locks != null).ifPresent(s -> s.locks.stream().map(SupervisorArgs.Lock::parse)
          .filter(held -> wanted.stream().noneMatch(w -> w.lease().equals(held.lease()))).forEach(locks::add));
      SupervisorArgs.Lock unconfirmed = locks.stream().filter(lock -> !confirmed(record.uid, lock,
          fresh != null ? byName.get(lock.lease()) : view.lease(lock.lease()))).findFirst().orElse(null);
      if (unconfirmed == null) {
        raise(record, validUntil);
      } else {
        log.warn("event=grant-not-confirmed domain={} lease={} epoch={} node={} note=deadline not extended",
            record.key(), unconfirmed.lease(), unconfirmed.epoch(), node);
      }
    }
  }

  /**
   * On promises (docs/safety.md, TIME-4): extends each confirmed supervisor whose deadline has not passed yet and is
   * earlier, from the cache. A deadline already passed is never extended here: the domain may be paused, and only a renewal and a
   * fresh list resume it (AGENT-2).
   */
  public void extendRunning(Collection<DomainRecord> records, long validUntil, long now) {
    extend(records.stream().filter(r -> r.runDir.deadline() > now).toList(), validUntil, null);
  }

  /** At a start or a hand-off's go, decided on grants the caller checked: the first deadline of this run. */
  public void grant(DomainRecord record, long validUntil) throws IOException {
    record.runDir.writeDeadline(validUntil);
  }

  /** Never shortens a right: what was proven stays proven, and a shorter deadline protects nothing more. */
  private void raise(DomainRecord record, long validUntil) {
    if (record.runDir.deadline() < validUntil) {
      write(record, validUntil);
    }
  }

  private void write(DomainRecord record, long validUntil) {
    try {
      record.runDir.writeDeadline(validUntil);
    } catch (IOException e) {
      log.error("event=deadline-write-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  private boolean confirmed(String uid, SupervisorArgs.Lock lock, DiskLease lease) {
    if (lease == null || lease.getStatus() == null || spent.contains(lock.lease() + "," + lock.epoch())) {
      return false;
    }
    for (LeaseHolder holder : lease.getStatus().holders) {
      if (uid.equals(holder.uid) && node.equals(holder.node) && holder.epoch != null && holder.epoch == lock.epoch()
          && (holder.mode == AccessMode.Exclusive) == (lock.mode() == LockMode.WRITE)) {
        return true;
      }
    }
    return false;
  }
}
