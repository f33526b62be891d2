package io.lockwarden.operator.handoff;

import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.MigrationRequest;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The operator's side of a migration, as a pure function of the domain's spec and status (the seed's PrepareMigrate,
 * CompleteMigrateIn/Out and MIGRATE_CANCEL, made declarative). Every step is recorded in status.migration, so an
 * operator restart resumes where the last one stopped.
 *
 * <pre>
 * (none) --spec.migration--> Preparing --target ready--> TargetReady --> HandingOff --target runs--> Completed
 *            Preparing/TargetReady: spec.migration removed, the target or the source dead: Cancelled;
 *                                   the target refuses: Failed
 *            HandingOff: no grant on the target yet, and the target cannot take a lock or dies:
 *                          Failed, rolled back to the held source (it still holds every grant at its epoch)
 *                        a grant already on the target, and the target cannot take a lock (it never ran):
 *                          Failed, the grants move back to the source with new epochs; it starts afresh
 *                        a grant already on the target, and the target dies (it may have run and written):
 *                          Failed, placement left to the dead-node path (fail-over or Fenced), never the held source
 *                        the source dies before it released: Failed (the node's grants are revoked as usual)
 * </pre>
 * The grants themselves move in the lease controller (see {@link #moveTo}), one DiskLease write each, epoch + 1.
 *
 * <p>Once any grant has moved to the target, the held source process is never resumed (docs/safety.md, MIG-6): the
 * target may have taken every lock and run, and the source's memory is then older than its disks. The operator never
 * places the domain back on the source as a roll-back then; the source's agent resumes a held process only under
 * exactly the grants it held when it stopped, and otherwise starts it afresh.
 */
public final class HandOff {
  private HandOff() {}

  /**
   * @param status the operator's fields for status.migration now (null: no migration), and the node to place the
   *     domain on (null: leave placement alone)
   * @param event what happened in this step, for an Event and the log, or null
   */
  public record Step(MigrationStatus status, String node, String event, String result) {}

  /**
   * What the step needs to know about the domain, read from its spec, status and the DiskLeases.
   *
   * @param holdsEveryGrantOn every disk of the domain is granted to it on this node
   * @param holdsAnyGrantOn some DiskLease lists the domain as a holder on this node
   */
  public record Facts(MigrationRequest request, MigrationStatus current, String placedNode, DomainPhase phase,
      long generation, List<String> candidates, Predicate<String> alive, Predicate<String> dead,
      Predicate<String> holdsEveryGrantOn, Predicate<String> holdsAnyGrantOn) {}

  public static Step next(Facts f, Instant now) {
    MigrationStatus cur = f.current();
    MigrationRequest req = f.request();
    if (cur == null || !MigrationStatus.isActive(cur)) {
      boolean asked = req != null && req.targetNode != null && !req.targetNode.equals(f.placedNode())
          && (cur == null || !Objects.equals(cur.requestGeneration, f.generation()));
      return asked ? start(f, now) : new Step(operatorPart(cur), null, null, null);
    }
    MigrationStatus next = operatorPart(cur);
    String target = cur.target;
    String source = cur.source;
    MigrationStatus.Incoming in = cur.currentIncoming();
    MigrationStatus.Outgoing out = cur.currentOutgoing();
    boolean handingOff = MigrationStatus.HANDING_OFF.equals(cur.phase);
    if (!handingOff) {
      if (req == null || !target.equals(req.targetNode)) {
        return end(next, MigrationStatus.CANCELLED, "spec.migration was removed or changed before the hand-off", null);
      }
      if (f.dead().test(target)) {
        return end(next, MigrationStatus.CANCELLED, "the target node " + target + " died while preparing", null);
      }
      if (f.dead().test(source)) {
        // The source still holds every Exclusive lock: its grants are revoked as for any dead node (fail-over).
        return end(next, MigrationStatus.CANCELLED, "the source node " + source + " died while preparing", null);
      }
      if (in != null && in.failure != null) {
        return end(next, MigrationStatus.FAILED, "the target cannot prepare: " + in.failure, null);
      }
      if (MigrationStatus.PREPARING.equals(cur.phase) && Boolean.TRUE.equals(in == null ? null : in.ready)) {
        next.phase = MigrationStatus.TARGET_READY;
        next.message = "the target holds a prepared process and the shared locks";
        return new Step(next, null, MigrationStatus.TARGET_READY, null);
      }
      if (MigrationStatus.TARGET_READY.equals(cur.phase)) {
        next.phase = MigrationStatus.HANDING_OFF;
        next.message = "the source stops and releases; the grants move to " + target;
        return new Step(next, null, MigrationStatus.HANDING_OFF, null);
      }
      return new Step(next, null, null, null);
    }
    // The hand-off. A roll-back to the held source is safe only while it still holds every grant at the epoch it
    // stopped under: once one has moved, the target may have run (MIG-6).
    if (in != null && in.failure != null) {
      if (f.holdsAnyGrantOn().test(target)) {
        // It could not take a lock, so it never ran: the grants may go back (moveTo, epoch + 1), to a fresh start.
        return end(next, MigrationStatus.FAILED, "rolled back to " + source + " with new grants: the target "
            + in.failure + "; grants had moved to " + target + ", so " + source
            + " starts the domain afresh (the held process is not resumed)", source);
      }
      return end(next, MigrationStatus.FAILED, "rolled back to " + source + ": the target " + in.failure, source);
    }
    if (f.dead().test(target)) {
      if (f.holdsAnyGrantOn().test(target)) {
        return end(next, MigrationStatus.FAILED, "the target node " + target + " died after grants had moved to it:"
            + " it may have run, so the held process on " + source + " is never resumed; the domain is placed as for"
            + " any dead node (a fresh start on a live candidate under new grants, or Fenced with failover Manual)",
            null);
      }
      return end(next, MigrationStatus.FAILED, "rolled back to " + source + ": the target node died before any grant"
          + " moved", source);
    }
    if (out == null && f.dead().test(source)) {
      return end(next, MigrationStatus.FAILED, "the source node died before it released; its grants are revoked",
          null);
    }
    if (in != null && in.runningAtMillis != null && target.equals(f.placedNode()) && f.phase() == DomainPhase.Running) {
      next.phase = MigrationStatus.COMPLETED;
      next.handoffMillis = out == null || out.releasedAtMillis == null ? null
          : Math.max(0, in.runningAtMillis - out.releasedAtMillis);
      next.message = "running on " + target + (next.handoffMillis == null ? "" : "; hand-off " + next.handoffMillis
          + " ms");
      return new Step(next, target, MigrationStatus.COMPLETED, "completed");
    }
    if (out != null && f.holdsEveryGrantOn().test(target)) {
      return new Step(next, target, null, null); // every grant moved: the target's agent takes over
    }
    return new Step(next, null, null, null);
  }

  /**
   * The node a holder's grant moves to now, or null. Forward, once the source has stopped its process and released
   * its Exclusive locks, and only to a target that has not reported a failure; back, once the failed target's
   * supervisor is gone (it could not take its locks, so it never ran). Never to a node that is dead. A grant moved back
   * takes a new epoch like any other: the source's agent then starts the domain afresh rather than resume its held
   * process (MIG-6).
   */
  public static String moveTo(MigrationStatus m, String holderNode, String placedNode, Predicate<String> dead) {
    if (m == null || m.source == null || m.target == null) {
      return null;
    }
    MigrationStatus.Outgoing out = m.currentOutgoing();
    MigrationStatus.Incoming in = m.currentIncoming();
    boolean released = out != null && out.releasedAtMillis != null;
    boolean targetFailed = in != null && in.failure != null;
    if (MigrationStatus.HANDING_OFF.equals(m.phase) && holderNode.equals(m.source) && released && !targetFailed
        && !dead.test(m.target)) {
      return m.target;
    }
    boolean targetGone = in != null && Boolean.TRUE.equals(in.stopped);
    if (MigrationStatus.FAILED.equals(m.phase) && holderNode.equals(m.target) && targetGone
        && m.source.equals(placedNode) && !dead.test(m.source)) {
      return m.source;
    }
    return null;
  }

  private static Step start(Facts f, Instant now) {
    MigrationRequest req = f.request();
    MigrationStatus m = new MigrationStatus();
    m.source = f.placedNode();
    m.target = req.targetNode;
    m.mode = req.mode == null ? MigrationMode.Warm : req.mode;
    m.startedAt = now.toString();
    m.requestGeneration = f.generation();
    String refusal = f.phase() != DomainPhase.Running ? "the domain is not running (phase " + f.phase()
        + "); change spec.placement instead"
        : !f.alive().test(req.targetNode) ? "the target node " + req.targetNode + " is not alive"
        : f.candidates() != null && !f.candidates().isEmpty() && !f.candidates().contains(req.targetNode)
            ? "the target node " + req.targetNode + " is not in spec.placement.nodes"
            : null;
    if (refusal != null) {
      return end(m, MigrationStatus.FAILED, refusal, null);
    }
    m.phase = MigrationStatus.PREPARING;
    m.message = "the target prepares: shared locks and a held process";
    return new Step(m, null, MigrationStatus.PREPARING, null);
  }

  private static Step end(MigrationStatus m, String phase, String message, String node) {
    m.phase = phase;
    m.message = message;
    return new Step(m, node, phase, phase.equals(MigrationStatus.CANCELLED) ? "cancelled" : "failed");
  }

  /** The operator's own fields of a migration status: never the agents' sides. */
  public static MigrationStatus operatorPart(MigrationStatus m) {
    if (m == null) {
      return null;
    }
    MigrationStatus copy = new MigrationStatus();
    copy.phase = m.phase;
    copy.source = m.source;
    copy.target = m.target;
    copy.mode = m.mode;
    copy.startedAt = m.startedAt;
    copy.handoffMillis = m.handoffMillis;
    copy.message = m.message;
    copy.requestGeneration = m.requestGeneration;
    return copy;
  }
}
