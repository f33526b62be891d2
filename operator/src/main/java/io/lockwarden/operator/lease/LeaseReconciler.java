package io.lockwarden.operator.lease;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.MaxReconciliationInterval;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseWaiter;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.config.LeanCache;
import io.lockwarden.operator.domain.DomainDisks;
import io.lockwarden.operator.fence.NodeLiveness;
import io.lockwarden.operator.fence.NodeLivenessEventSource;
import io.lockwarden.operator.grant.Arbitration;
import io.lockwarden.operator.grant.LeaseArbiter;
import io.lockwarden.operator.grant.LeaseRequest;
import io.lockwarden.operator.handoff.HandOff;
import io.lockwarden.operator.observe.EventRecorder;
import io.lockwarden.operator.observe.OperatorMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lock manager for one DiskLease at a time: gathers who asks for it and which grants may end, lets
 * {@link LeaseArbiter} decide, and writes the decision as one PUT of the lease's status carrying the resourceVersion
 * it was decided on. A 409 means someone else (another operator, a stale cache) decided in between: re-read from the
 * API server and decide again.
 */
@ControllerConfiguration(name = LeaseReconciler.NAME, finalizerName = LeaseReconciler.FINALIZER,
    maxReconciliationInterval = @MaxReconciliationInterval(interval = 5, timeUnit = TimeUnit.MINUTES))
public final class LeaseReconciler implements Reconciler<DiskLease>, Cleaner<DiskLease> {
  public static final String NAME = "disklease";
  /** Keeps a deleted DiskLease, the record of who holds the disk, until nobody holds it. */
  public static final String FINALIZER = "lockwarden.io/holders";
  public static final String DELETING = "Deleting";
  private static final Logger log = LoggerFactory.getLogger(LeaseReconciler.class);
  private static final int MAX_DECISIONS = 8;
  private static final Duration AUTO_LEASE_MIN_AGE = Duration.ofSeconds(10);

  private final NodeLiveness liveness;
  private final PathClaims pathClaims;
  private final OperatorMetrics metrics;
  private final EventRecorder events;
  private final Duration orphanGrace;
  /** lease/uid to the monotonic time this operator first saw that request, for grant latency. */
  private final Map<String, Long> firstAsked = new ConcurrentHashMap<>();
  /** lease/uid to the monotonic time a holder's domain was first found gone. */
  private final Map<String, Long> goneSince = new ConcurrentHashMap<>();
  private final ReleaseThenGrant releaseThenGrant = new ReleaseThenGrant();
  private IndexerResourceCache<DiskLease> leases;
  private InformerEventSource<SupervisedDomain, DiskLease> domains;

  /** @param orphanGrace how long a grant outlives its vanished domain: nodeTimeout + grace, as for a dead node */
  public LeaseReconciler(NodeLiveness liveness, PathClaims pathClaims, OperatorMetrics metrics,
      EventRecorder events, Duration orphanGrace) {
    this.liveness = liveness;
    this.pathClaims = pathClaims;
    this.metrics = metrics;
    this.events = events;
    this.orphanGrace = orphanGrace;
  }

  @Override
  public List<EventSource<?, DiskLease>> prepareEventSources(EventSourceContext<DiskLease> context) {
    leases = context.getPrimaryCache();
    leases.addIndexers(Indexes.forLeases());
    domains = new InformerEventSource<>(InformerEventSourceConfiguration.from(SupervisedDomain.class, DiskLease.class)
        .withItemStore(LeanCache.store())
        .withSecondaryToPrimaryMapper(this::leasesOf).build(), context);
    domains.addIndexers(Indexes.forDomains());
    NodeLivenessEventSource<DiskLease> nodes = new NodeLivenessEventSource<>(liveness, node -> {
      Set<ResourceID> affected = new HashSet<>();
      leases.byIndex(Indexes.LEASE_BY_HOLDER_NODE, node).forEach(l -> affected.add(ResourceID.fromResource(l)));
      domains.byIndex(Indexes.DOMAIN_BY_NODE, node).forEach(d -> affected.addAll(leasesOf(d)));
      return affected;
    });
    return List.of(domains, nodes);
  }

  @Override
  public UpdateControl<DiskLease> reconcile(DiskLease lease, Context<DiskLease> context) {
    if (deleteIfUnusedAuto(lease, context.getClient()) == AutoLease.DELETED) {
      return UpdateControl.noUpdate();
    }
    Decision decision = arbitrate(lease, context, false);
    // Our own status write does not wake us again, so an auto lease this write left empty goes now.
    AutoLease auto = deleteIfUnusedAuto(decision.lease(), context.getClient());
    if (decision.waitingOnTimer() || auto == AutoLease.UNUSED_BUT_YOUNG) {
      return UpdateControl.<DiskLease>noUpdate().rescheduleAfter(Duration.ofSeconds(1));
    }
    // Nothing wakes a lease blocked by another lease's path claim when that lease goes: look again.
    boolean blockedByClaim = decision.arbitration().status().waiting.stream()
        .anyMatch(w -> PathClaims.DUPLICATE_PATH.equals(w.reason));
    return blockedByClaim ? UpdateControl.<DiskLease>noUpdate().rescheduleAfter(Duration.ofSeconds(3))
        : UpdateControl.noUpdate();
  }

  /** Counted and logged; JOSDK retries with back-off. Nothing is written: a failed decision changes no state. */
  @Override
  public ErrorStatusUpdateControl<DiskLease> updateErrorStatus(DiskLease lease, Context<DiskLease> context,
      Exception e) {
    metrics.reconcileError(NAME);
    log.warn("event=reconcile-failed controller={} lease={} error=\"{}\"", NAME, lease.getMetadata().getName(),
        e.getMessage());
    return ErrorStatusUpdateControl.defaultErrorProcessing();
  }

  /**
   * A deleted DiskLease stays until nobody holds it: dropping the record while a process writes would let the disk
   * be granted again. Releases go on as usual meanwhile; nothing new is granted.
   */
  @Override
  public DeleteControl cleanup(DiskLease lease, Context<DiskLease> context) {
    Decision decision = arbitrate(lease, context, true);
    if (!decision.arbitration().status().holders.isEmpty()) {
      log.info("event=deletion-waits lease={} holders={}", lease.getMetadata().getName(),
          decision.arbitration().status().holders.stream().map(h -> h.domain).toList());
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(5, TimeUnit.SECONDS);
    }
    pathClaims.release(decision.lease()); // the version decided on: its epoch is the last this lease granted
    metrics.waiting(lease.getMetadata().getName(), 0);
    return DeleteControl.defaultDelete();
  }

  /** Decide and write, re-reading and deciding again on each 409. */
  private Decision arbitrate(DiskLease lease, Context<DiskLease> context, boolean deleting) {
    KubernetesClient client = context.getClient();
    DiskLease current = lease;
    for (int attempt = 1; attempt <= MAX_DECISIONS; attempt++) {
      long decideStart = System.nanoTime();
      Decision decision = decide(current, client, deleting);
      long writeStart = System.nanoTime();
      metrics.waiting(current.getMetadata().getName(), decision.arbitration().status().waiting.size());
      if (sameStatus(current.getStatus(), decision.arbitration().status())) {
        return decision;
      }
      DiskLease desired = Serialization.clone(current);
      desired.setStatus(decision.arbitration().status());
      try {
        // updateStatus is a PUT carrying desired's resourceVersion: the one this decision was made on.
        DiskLease written = client.resource(desired).updateStatus();
        context.eventSourceRetriever().getControllerEventSource()
            .handleRecentResourceUpdate(ResourceID.fromResource(written), written, current);
        log.debug("event=decided lease={} decideMillis={} writeMillis={}", written.getMetadata().getName(),
            (writeStart - decideStart) / 1_000_000, (System.nanoTime() - writeStart) / 1_000_000);
        report(current, decision.arbitration(), written);
        return new Decision(decision.arbitration(), decision.waitingOnTimer(), written);
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        metrics.conflict("WriteConflict");
        log.info("event=write-conflict lease={} resourceVersion={} attempt={} note=re-reading to decide again",
            current.getMetadata().getName(), current.getMetadata().getResourceVersion(), attempt);
        DiskLease fresh = client.resources(DiskLease.class).withName(current.getMetadata().getName()).get();
        if (fresh == null) {
          return decision;
        }
        current = fresh;
        // Deleted meanwhile: another replica's cleanup may already have given up the path's claim, so this decision
        // must not grant on it any more.
        deleting |= fresh.getMetadata().getDeletionTimestamp() != null;
      }
    }
    throw new IllegalStateException("lease " + lease.getMetadata().getName() + ": lost " + MAX_DECISIONS
        + " write races in a row; JOSDK will retry");
  }

  /** @param lease the lease as written by this decision, or as read when nothing needed writing */
  private record Decision(Arbitration arbitration, boolean waitingOnTimer, DiskLease lease) {}

  private Decision decide(DiskLease lease, KubernetesClient client, boolean deleting) {
    String name = lease.getMetadata().getName();
    List<LeaseRequest> requests = deleting ? List.of() : requestsFor(lease);
    boolean[] waitingOnTimer = {false};
    String blocked = deleting ? DELETING
        : requests.isEmpty() ? null : pathClaims.blockReason(lease, leasesWithPath(lease.getSpec().path));
    Arbitration arbitration = LeaseArbiter.decide(lease, requests, holder -> deleting ? null : moveTo(holder), holder -> {
      String reason = removalReason(lease, holder, client);
      if (reason == null && goneSince.containsKey(name + "/" + holder.uid)) {
        waitingOnTimer[0] = true;
      }
      return reason;
    }, blocked, pathClaims.epochFloor(lease), Instant.now());
    showLocalLockConflict(lease, arbitration);
    return new Decision(arbitration, waitingOnTimer[0], lease);
  }

  /**
   * Condition LocalLockBusy: a holder's agent cannot take the local lock because someone outside lockwarden holds
   * it (a virtlockd on the same storage, say). The agent says so on the domain, naming this lease first.
   */
  private void showLocalLockConflict(DiskLease lease, Arbitration arbitration) {
    String prefix = "DiskLease " + lease.getMetadata().getName() + ":";
    String busy = null;
    for (LeaseHolder holder : arbitration.status().holders) {
      String[] key = holder.domain.split("/", 2);
      SupervisedDomain domain = domains.get(new ResourceID(key[1], key[0])).orElse(null);
      List<Condition> conditions = domain == null || domain.getStatus() == null ? null : domain.getStatus().conditions;
      Condition condition = conditions == null ? null : conditions.stream()
          .filter(c -> DomainConditions.LOCAL_LOCK_BUSY.equals(c.getType()) && "True".equals(c.getStatus())
              && c.getMessage() != null && c.getMessage().startsWith(prefix)).findFirst().orElse(null);
      if (condition != null && busy == null) {
        busy = holder.domain + " on " + holder.node + " cannot take its local lock:"
            + condition.getMessage().substring(prefix.length());
      }
    }
    DiskLeaseStatus old = lease.getStatus();
    List<Condition> conditions = new ArrayList<>(arbitration.status().conditions);
    conditions.add(Conditions.next(old == null ? null : old.conditions, DomainConditions.LOCAL_LOCK_BUSY,
        busy != null, busy != null ? "ForeignHolder" : "NoForeignHolder",
        busy != null ? busy : "no holder reports a foreign lock on the disk", arbitration.status().observedGeneration,
        Instant.now()));
    arbitration.status().conditions = conditions;
  }

  /** Where a migration hand-off (or its roll-back) moves this holder's grant now, or null. */
  private String moveTo(LeaseHolder holder) {
    String[] key = holder.domain.split("/", 2);
    SupervisedDomain domain = domains.get(new ResourceID(key[1], key[0])).orElse(null);
    if (domain == null || !domain.getMetadata().getUid().equals(holder.uid) || domain.getStatus() == null) {
      return null;
    }
    if (domain.getMetadata().getDeletionTimestamp() != null) {
      // Deleted during its migration: the source's release ends the grant. Moved to the target, nobody there would
      // ever use or report it (the target is not where the domain runs), and the finalizer would wait for ever.
      return null;
    }
    return HandOff.moveTo(domain.getStatus().migration, holder.node, domain.getStatus().node, liveness::isDead);
  }

  /** The domains asking for this lease now, oldest domain first, each with its mode and node. */
  private List<LeaseRequest> requestsFor(DiskLease lease) {
    String name = lease.getMetadata().getName();
    List<LeaseRequest> requests = new ArrayList<>();
    referencingDomains(lease).stream()
        .sorted(Comparator.comparing((SupervisedDomain d) -> d.getMetadata().getCreationTimestamp())
            .thenComparing(DomainDisks::key))
        .forEach(domain -> request(domain, name).ifPresent(requests::add));
    return requests;
  }

  private Optional<LeaseRequest> request(SupervisedDomain domain, String leaseName) {
    String node = DomainDisks.node(domain);
    if (!DomainDisks.wantsLeases(domain) || node == null || !liveness.isAlive(node)) {
      return Optional.empty();
    }
    String uid = domain.getMetadata().getUid();
    List<DomainDisks.Resolved> disks = DomainDisks.resolve(domain, this::leasesWithPath);
    for (int i = 0; i < disks.size(); i++) {
      DomainDisks.Resolved disk = disks.get(i);
      if (disk.leaseName().equals(leaseName)) {
        firstAsked.putIfAbsent(leaseName + "/" + uid, System.nanoTime());
        // Holding a later lease already (a disk hot-plugged out of order) and waiting here could close a cycle:
        // such a request takes the lease only if it is free to take at once, and never queues.
        boolean holdsLater = disks.subList(i + 1, disks.size()).stream()
            .anyMatch(later -> heldBy(later.leaseName(), uid, node));
        return Optional.of(new LeaseRequest(DomainDisks.key(domain), uid, domain.getMetadata().getNamespace(), node,
            disk.mode(), !holdsLater));
      }
      // Acquire in lease-name order: ask for this one only once every earlier one is held here.
      if (!heldBy(disk.leaseName(), uid, node)) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private boolean heldBy(String leaseName, String uid, String node) {
    DiskLease lease = leases.get(new ResourceID(leaseName)).orElse(null);
    return lease != null && lease.getStatus() != null
        && lease.getStatus().holders.stream().anyMatch(h -> h.uid.equals(uid) && Objects.equals(h.node, node));
  }

  /**
   * Why a grant may end now, or null. Only when its process can no longer use the disk: the node is dead (its
   * supervisors fenced themselves, see docs/safety.md), the agent reported the grant released, or the domain has been
   * gone (confirmed by the API server) for as long as a dead node's grants are kept, while the quorum allows fencing.
   */
  private String removalReason(DiskLease lease, LeaseHolder holder, KubernetesClient client) {
    String leaseName = lease.getMetadata().getName();
    if (liveness.isDead(holder.node) && liveness.confirmDead(holder.node)) {
      return "NodeDead";
    }
    String[] key = holder.domain.split("/", 2);
    SupervisedDomain domain = domains.get(new ResourceID(key[1], key[0])).orElse(null);
    if (domain == null || !holder.uid.equals(domain.getMetadata().getUid())) {
      domain = client.resources(SupervisedDomain.class).inNamespace(key[0]).withName(key[1]).get();
    }
    String timerKey = leaseName + "/" + holder.uid;
    if (domain != null && holder.uid.equals(domain.getMetadata().getUid())) {
      goneSince.remove(timerKey);
      String leaseUid = lease.getMetadata().getUid();
      boolean released = domain.getStatus() != null && domain.getStatus().released != null
          && domain.getStatus().released.stream().anyMatch(r -> leaseName.equals(r.leaseName)
              && leaseUid.equals(r.leaseUid) && Objects.equals(holder.epoch, r.epoch));
      return released ? "Released" : null;
    }
    long since = goneSince.computeIfAbsent(timerKey, k -> System.nanoTime());
    // Under the quorum too (docs/safety.md, TIME-4): a node cut off with most others may still run the domain's
    // process on its peers' promises, whatever became of the domain object meanwhile.
    return System.nanoTime() - since > orphanGrace.toNanos() && liveness.fencingAllowed(holder.node) ? "DomainGone" : null;
  }

  private List<SupervisedDomain> referencingDomains(DiskLease lease) {
    String name = lease.getMetadata().getName();
    Map<String, SupervisedDomain> found = new LinkedHashMap<>();
    domains.byIndex(Indexes.DOMAIN_BY_DISK, Indexes.byName(name)).forEach(d -> found.put(d.getMetadata().getUid(), d));
    String path = lease.getSpec().path;
    if (name.equals(LeaseNames.forPath(path, leasesWithPath(path)))) {
      domains.byIndex(Indexes.DOMAIN_BY_DISK, Indexes.byPath(path)).forEach(d -> found.put(d.getMetadata().getUid(), d));
    }
    return new ArrayList<>(found.values());
  }

  private List<DiskLease> leasesWithPath(String path) {
    return leases.byIndex(Indexes.LEASE_BY_PATH, path);
  }

  /** The leases a domain event may change: those its disks name, and those it holds or waits for. */
  private Set<ResourceID> leasesOf(SupervisedDomain domain) {
    Set<ResourceID> ids = new HashSet<>();
    if (domain.getSpec() != null && domain.getSpec().disks != null) {
      domain.getSpec().disks.forEach(disk -> {
        if (disk.leaseName != null) {
          ids.add(new ResourceID(disk.leaseName));
        } else {
          ids.add(new ResourceID(LeaseNames.autoName(disk.path)));
          leasesWithPath(disk.path).forEach(l -> ids.add(ResourceID.fromResource(l)));
        }
      });
    }
    leases.byIndex(Indexes.LEASE_BY_DOMAIN_UID, domain.getMetadata().getUid())
        .forEach(l -> ids.add(ResourceID.fromResource(l)));
    return ids;
  }

  /**
   * An auto lease goes once nothing refers to it and nobody holds or waits for it; deleted only at the version seen,
   * and never in its first {@link #AUTO_LEASE_MIN_AGE}: it is created by the domain controller, whose cache may be
   * ahead of ours, so a young lease nobody seems to name is most likely one whose domain we have not seen yet.
   */
  private AutoLease deleteIfUnusedAuto(DiskLease lease, KubernetesClient client) {
    if (!unusedAuto(lease)) {
      return AutoLease.IN_USE;
    }
    String created = lease.getMetadata().getCreationTimestamp();
    if (created != null && Instant.parse(created).plus(AUTO_LEASE_MIN_AGE).isAfter(Instant.now())) {
      return AutoLease.UNUSED_BUT_YOUNG;
    }
    try {
      client.resource(lease).lockResourceVersion().delete();
      log.info("event=auto-lease-deleted lease={} path={}", lease.getMetadata().getName(), lease.getSpec().path);
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409 && e.getCode() != 404) {
        throw e;
      }
    }
    return AutoLease.DELETED;
  }

  /** What {@link #deleteIfUnusedAuto} found: IN_USE also covers declared leases, which are never deleted. */
  private enum AutoLease { IN_USE, UNUSED_BUT_YOUNG, DELETED }

  private boolean unusedAuto(DiskLease lease) {
    DiskLeaseStatus status = lease.getStatus();
    boolean empty = status == null || (status.holders.isEmpty() && status.waiting.isEmpty());
    return LeaseNames.isAuto(lease) && empty && referencingDomains(lease).isEmpty();
  }

  private void report(DiskLease before, Arbitration arbitration, DiskLease written) {
    String name = written.getMetadata().getName();
    for (Arbitration.Removal removal : arbitration.removed()) {
      LeaseHolder h = removal.holder();
      goneSince.remove(name + "/" + h.uid);
      log.info("event=released lease={} domain={} node={} epoch={} reason={}", name, h.domain, h.node, h.epoch,
          removal.reason());
      String message = h.domain + " on " + h.node + " at epoch " + h.epoch + ": " + removal.reason();
      if ("Released".equals(removal.reason())) {
        releaseThenGrant.released(name, h, System.nanoTime());
        events.normal(written, "Released", message);
      } else {
        events.warning(written, "Revoked", message);
      }
    }
    for (Arbitration.Move move : arbitration.moved()) {
      log.info("event=handed-off lease={} domain={} from={} fromEpoch={} to={} epoch={}", name, move.to().domain,
          move.from().node, move.from().epoch, move.to().node, move.to().epoch);
      events.normal(written, "HandedOff", move.to().domain + " moved from " + move.from().node + " (epoch "
          + move.from().epoch + ") to " + move.to().node + " at epoch " + move.to().epoch);
    }
    for (LeaseHolder h : arbitration.granted()) {
      Long asked = firstAsked.remove(name + "/" + h.uid);
      Duration latency = asked == null ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - asked);
      metrics.granted(h.mode, latency);
      log.info("event=granted lease={} domain={} node={} epoch={} mode={} latencyMillis={}", name, h.domain, h.node,
          h.epoch, h.mode, latency.toMillis());
      events.normal(written, "Granted", h.mode + " to " + h.domain + " on " + h.node + " at epoch " + h.epoch);
      ReleaseThenGrant.HandOff handOff = releaseThenGrant.granted(name, h, System.nanoTime());
      if (handOff != null) {
        metrics.releaseThenGrant(handOff.gap());
        log.info("event=handed-off lease={} domain={} from={} fromEpoch={} to={} epoch={} kind=release-then-grant "
            + "gapMillis={}", name, h.domain, handOff.from(), handOff.fromEpoch(), h.node, h.epoch,
            handOff.gap().toMillis());
        events.normal(written, "HandedOff", h.domain + " moved from " + handOff.from() + " (epoch "
            + handOff.fromEpoch() + ", released) to " + h.node + " at epoch " + h.epoch + ", "
            + handOff.gap().toMillis() + " ms after the release");
      }
    }
    Set<String> wasWaiting = new HashSet<>();
    if (before.getStatus() != null) {
      before.getStatus().waiting.forEach(w -> wasWaiting.add(w.uid));
    }
    for (LeaseWaiter w : arbitration.status().waiting) {
      if (!wasWaiting.contains(w.uid)) {
        metrics.conflict(conflictKind(w.reason));
        log.info("event=queued lease={} domain={} mode={} reason=\"{}\"", name, w.domain, w.mode, w.reason);
        events.warning(written, "Contended", w.domain + " waits for " + w.mode + ": " + w.reason);
      }
    }
  }

  private static String conflictKind(String waiterReason) {
    if (waiterReason.startsWith("HeldBy")) {
      return "HeldIncompatible";
    }
    if (waiterReason.startsWith("MaxSharedHolders")) {
      return "MaxSharedHolders";
    }
    return PathClaims.DUPLICATE_PATH.equals(waiterReason) ? PathClaims.DUPLICATE_PATH : "QueuedBehind";
  }

  private static boolean sameStatus(DiskLeaseStatus a, DiskLeaseStatus b) {
    return Serialization.jsonMapper().valueToTree(a).equals(Serialization.jsonMapper().valueToTree(b));
  }
}
