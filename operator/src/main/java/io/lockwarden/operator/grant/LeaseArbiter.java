package io.lockwarden.operator.grant;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseState;
import io.lockwarden.api.v1alpha1.LeaseWaiter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Decides one DiskLease: pure, with no I/O, so that the rules can be tested exhaustively and two operators given the
 * same inputs decide the same.
 *
 * <p>One round, in order:
 * <ol>
 *   <li>remove the holders that are safe to remove (the caller says which, and why: node dead, grant released);
 *   <li>rebuild the queue: earlier waiters keep their place if they still ask, new requests join at the end;
 *   <li>grant from the head of the queue while the head is compatible with every holder and within
 *       maxSharedHolders, and stop at the first that is not: nobody overtakes an earlier waiter.
 * </ol>
 * Every grant takes the next epoch. Removals do not change the epoch.
 *
 * <p>Safety rests here: a holder is added only if compatible with every holder left after step 1, and the result is
 * written with the resourceVersion it was computed from, so no persisted version can show incompatible holders.
 */
public final class LeaseArbiter {
  public static final String READY = "Ready";
  public static final String CONTENDED = "Contended";

  private LeaseArbiter() {}

  /**
   * @param lease the lease as last read; its status is the current record
   * @param requests who wants the lease now, oldest first; holders and requests from disallowed namespaces are skipped
   * @param removable for a holder, why it may be removed now, or null to keep it
   * @param grantBlockedReason why this lease may grant nothing at all now (e.g. DuplicatePath), or null
   */
  public static Arbitration decide(DiskLease lease, List<LeaseRequest> requests,
      Function<LeaseHolder, String> removable, String grantBlockedReason, Instant now) {
    return decide(lease, requests, holder -> null, removable, grantBlockedReason, 0, now);
  }

  /**
   * @param moveTo for a holder, the node its grant moves to now (a migration hand-off or its roll-back), or null. A
   *     moved grant keeps its place and mode and takes the next epoch: the token the old node held is never valid
   *     again. A move comes before any removal: a released source's grant goes to the target even if the source
   *     died meanwhile.
   * @param epochFloor the last epoch an earlier DiskLease of the same path granted: this one grants above it, so a
   *     disk's tokens only grow even when its lease is deleted and made again
   */
  public static Arbitration decide(DiskLease lease, List<LeaseRequest> requests, Function<LeaseHolder, String> moveTo,
      Function<LeaseHolder, String> removable, String grantBlockedReason, long epochFloor, Instant now) {
    DiskLeaseStatus old = lease.getStatus() == null ? new DiskLeaseStatus() : lease.getStatus();
    long epoch = Math.max(old.epoch == null ? 0 : old.epoch, epochFloor);

    List<LeaseHolder> holders = new ArrayList<>();
    List<Arbitration.Removal> removed = new ArrayList<>();
    List<Arbitration.Move> moved = new ArrayList<>();
    for (LeaseHolder holder : old.holders) {
      String target = moveTo.apply(holder);
      if (target != null && !target.equals(holder.node)) {
        LeaseHolder next = new LeaseHolder();
        next.domain = holder.domain;
        next.uid = holder.uid;
        next.mode = holder.mode;
        next.node = target;
        next.epoch = ++epoch;
        next.grantedAt = now.toString();
        holders.add(next);
        moved.add(new Arbitration.Move(holder, next));
        continue;
      }
      String reason = removable.apply(holder);
      if (reason == null) {
        holders.add(holder);
      } else {
        removed.add(new Arbitration.Removal(holder, reason));
      }
    }

    Map<String, LeaseRequest> asking = new LinkedHashMap<>();
    for (LeaseRequest request : requests) {
      boolean held = holders.stream().anyMatch(h -> h.uid.equals(request.uid()));
      if (!held && LeasePolicy.allowsNamespace(lease, request.namespace())) {
        asking.putIfAbsent(request.uid(), request);
      }
    }
    List<LeaseRequest> atOnceOnly = new ArrayList<>();
    asking.values().removeIf(r -> !r.mayWait() && atOnceOnly.add(r));
    List<LeaseWaiter> queue = new ArrayList<>();
    for (LeaseWaiter waiter : old.waiting) {
      LeaseRequest request = asking.remove(waiter.uid);
      if (request != null) {
        queue.add(waiter(request, waiter.since));
      }
    }
    for (LeaseRequest request : asking.values()) {
      queue.add(waiter(request, now.toString()));
    }

    List<LeaseHolder> granted = new ArrayList<>();
    Map<String, String> nodeOf = new LinkedHashMap<>();
    requests.forEach(r -> nodeOf.putIfAbsent(r.uid(), r.node()));
    while (grantBlockedReason == null && !queue.isEmpty() && blocker(lease, holders, queue.get(0).mode) == null) {
      LeaseWaiter head = queue.remove(0);
      LeaseHolder holder = holder(head, nodeOf.get(head.uid), ++epoch, now);
      holders.add(holder);
      granted.add(holder);
    }
    // A request that may not wait is granted only with nobody waiting and nothing in its way; otherwise it is dropped.
    for (LeaseRequest request : atOnceOnly) {
      if (grantBlockedReason == null && queue.isEmpty() && blocker(lease, holders, request.mode()) == null) {
        LeaseHolder holder = holder(waiter(request, now.toString()), request.node(), ++epoch, now);
        holders.add(holder);
        granted.add(holder);
      }
    }
    for (int i = 0; i < queue.size(); i++) {
      queue.get(i).reason = grantBlockedReason != null ? grantBlockedReason
          : i == 0 ? blocker(lease, holders, queue.get(0).mode) : "QueuedBehindEarlierRequest";
    }

    DiskLeaseStatus status = new DiskLeaseStatus();
    status.epoch = epoch;
    status.holders = holders;
    status.waiting = queue;
    status.state = stateOf(holders);
    status.holderCount = holders.size();
    status.waitingCount = queue.size();
    status.observedGeneration = lease.getMetadata().getGeneration();
    status.conditions = List.of(
        Conditions.next(old.conditions, READY, grantBlockedReason == null, grantBlockedReason == null ? "Arbitrating" : grantBlockedReason,
            grantBlockedReason == null ? "the lease is granted first come, first served"
                : "this lease grants nothing: " + grantBlockedReason, status.observedGeneration, now),
        Conditions.next(old.conditions, CONTENDED, !queue.isEmpty(), queue.isEmpty() ? "NoWaiters" : "Waiters",
            queue.isEmpty() ? "nobody is waiting" : queue.size() + " waiting; first: " + queue.get(0).domain
                + " (" + queue.get(0).reason + ")", status.observedGeneration, now));
    return new Arbitration(status, granted, removed, moved);
  }

  /** Why {@code mode} cannot be granted next to {@code holders} now, or null if it can. */
  static String blocker(DiskLease lease, List<LeaseHolder> holders, AccessMode mode) {
    for (LeaseHolder holder : holders) {
      if (!mode.compatibleWith(holder.mode)) {
        return "HeldBy " + holder.domain + " (" + holder.mode + ")";
      }
    }
    Integer max = lease.getSpec() == null ? null : lease.getSpec().maxSharedHolders;
    if (max != null && mode != AccessMode.Exclusive && holders.size() >= max) {
      return "MaxSharedHolders " + max + " reached";
    }
    return null;
  }

  static LeaseState stateOf(List<LeaseHolder> holders) {
    if (holders.isEmpty()) {
      return LeaseState.Free;
    }
    if (holders.stream().anyMatch(h -> h.mode == AccessMode.Exclusive)) {
      return LeaseState.Exclusive;
    }
    return holders.stream().anyMatch(h -> h.mode == AccessMode.Shared) ? LeaseState.Shared : LeaseState.ReadOnly;
  }

  private static LeaseHolder holder(LeaseWaiter from, String node, long epoch, Instant now) {
    LeaseHolder holder = new LeaseHolder();
    holder.domain = from.domain;
    holder.uid = from.uid;
    holder.node = node;
    holder.mode = from.mode;
    holder.epoch = epoch;
    holder.grantedAt = now.toString();
    return holder;
  }

  private static LeaseWaiter waiter(LeaseRequest request, String since) {
    LeaseWaiter waiter = new LeaseWaiter();
    waiter.domain = request.domain();
    waiter.uid = request.uid();
    waiter.mode = request.mode();
    waiter.since = since;
    return waiter;
  }
}
