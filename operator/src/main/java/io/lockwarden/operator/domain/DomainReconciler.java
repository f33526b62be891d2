package io.lockwarden.operator.domain;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
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
import io.javaoperatorsdk.operator.api.reconciler.PrimaryUpdateAndCacheUtils;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.IndexerResourceCache;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainLease;
import io.lockwarden.api.v1alpha1.DomainLeaseState;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.operator.config.LeanCache;
import io.lockwarden.operator.fence.NodeLiveness;
import io.lockwarden.operator.fence.NodeLivenessEventSource;
import io.lockwarden.operator.grant.LeaseArbiter;
import io.lockwarden.operator.grant.LeasePolicy;
import io.lockwarden.operator.handoff.HandOff;
import io.lockwarden.operator.lease.Indexes;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.operator.lease.LeaseReconciler;
import io.lockwarden.operator.lease.PathClaims;
import io.lockwarden.operator.observe.EventRecorder;
import io.lockwarden.operator.observe.OperatorMetrics;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything about one SupervisedDomain except the grants themselves: where it runs (placement and fail-over), the
 * automatic DiskLeases for its paths, its finalizer (the seed's Free), and the operator's part of its status, written
 * with server-side apply so the node agent's part is never touched.
 */
@ControllerConfiguration(name = DomainReconciler.NAME, finalizerName = DomainReconciler.FINALIZER,
    fieldManager = DomainReconciler.FIELD_MANAGER, generationAwareEventProcessing = false,
    maxReconciliationInterval = @MaxReconciliationInterval(interval = 5, timeUnit = TimeUnit.MINUTES))
public final class DomainReconciler implements Reconciler<SupervisedDomain>, Cleaner<SupervisedDomain> {
  public static final String NAME = "superviseddomain";
  public static final String FINALIZER = "lockwarden.io/release";
  public static final String FIELD_MANAGER = "lockwarden-operator";
  private static final Logger log = LoggerFactory.getLogger(DomainReconciler.class);
  private static final Set<DomainPhase> OPERATOR_PHASES = Set.of(DomainPhase.Pending, DomainPhase.Waiting,
      DomainPhase.Starting, DomainPhase.Fenced, DomainPhase.Stopped);

  private final NodeLiveness liveness;
  private final PathClaims pathClaims;
  private final OperatorMetrics metrics;
  private final EventRecorder events;
  private InformerEventSource<DiskLease, SupervisedDomain> leases;
  private IndexerResourceCache<SupervisedDomain> domains;

  public DomainReconciler(NodeLiveness liveness, PathClaims pathClaims, OperatorMetrics metrics, EventRecorder events) {
    this.liveness = liveness;
    this.pathClaims = pathClaims;
    this.metrics = metrics;
    this.events = events;
  }

  @Override
  public List<EventSource<?, SupervisedDomain>> prepareEventSources(EventSourceContext<SupervisedDomain> context) {
    domains = context.getPrimaryCache();
    domains.addIndexers(Indexes.forDomains());
    leases = new InformerEventSource<>(InformerEventSourceConfiguration.from(DiskLease.class, SupervisedDomain.class)
        .withItemStore(LeanCache.store())
        .withSecondaryToPrimaryMapper(this::domainsOf).build(), context);
    leases.addIndexers(Indexes.forLeases());
    NodeLivenessEventSource<SupervisedDomain> nodes = new NodeLivenessEventSource<>(liveness, node -> {
      // Placed there, or not placed yet, or placed on a dead node: any of these may move now.
      // Also the domains migrating to or from it.
      Set<ResourceID> affected = new HashSet<>();
      domains.list(d -> d.getStatus() == null || d.getStatus().node == null || node.equals(d.getStatus().node)
          || liveness.isDead(d.getStatus().node) || (d.getStatus().migration != null
              && (node.equals(d.getStatus().migration.target) || node.equals(d.getStatus().migration.source))))
          .forEach(d -> affected.add(ResourceID.fromResource(d)));
      return affected;
    });
    return List.of(leases, nodes);
  }

  @Override
  public UpdateControl<SupervisedDomain> reconcile(SupervisedDomain domain, Context<SupervisedDomain> context) {
    List<DomainDisks.Resolved> disks = DomainDisks.resolve(domain, this::leasesWithPath);
    // Leases first: with a nodeName placement the lease controller can grant before our status write lands.
    createAutoLeases(disks, context.getClient());
    SupervisedDomainStatus current = domain.getStatus() == null ? new SupervisedDomainStatus() : domain.getStatus();
    String node = Placement.choose(domain, liveness::isAlive, liveness::isDead, holdsAnyGrant(domain));
    HandOff.Step handOff = HandOff.next(new HandOff.Facts(domain.getSpec().migration, current.migration, current.node,
        current.phase, domain.getMetadata().getGeneration(),
        domain.getSpec().placement == null ? null : domain.getSpec().placement.nodes, liveness::isAlive,
        liveness::isDead, n -> holdsEveryGrantOn(domain, disks, n), n -> holdsAnyGrantOn(domain, n)), Instant.now());
    if (handOff.node() != null) {
      node = handOff.node();
    }
    SupervisedDomainStatus desired = desiredStatus(domain, disks, node);
    desired.migration = handOff.status();
    if (!sameOperatorFields(current, desired)) {
      report(domain, current, desired);
      reportHandOff(domain, handOff);
      SupervisedDomain patch = new SupervisedDomain();
      patch.setMetadata(new ObjectMetaBuilder().withName(domain.getMetadata().getName())
          .withNamespace(domain.getMetadata().getNamespace()).build());
      patch.setStatus(desired);
      PrimaryUpdateAndCacheUtils.ssaPatchStatusAndCacheResource(domain, patch, context);
    }
    return UpdateControl.noUpdate();
  }

  /** Counted and logged; JOSDK retries with back-off. Nothing is written: a failed decision changes no state. */
  @Override
  public ErrorStatusUpdateControl<SupervisedDomain> updateErrorStatus(SupervisedDomain domain,
      Context<SupervisedDomain> context, Exception e) {
    metrics.reconcileError(NAME);
    log.warn("event=reconcile-failed controller={} domain={} error=\"{}\"", NAME, DomainDisks.key(domain),
        e.getMessage());
    return ErrorStatusUpdateControl.defaultErrorProcessing();
  }

  /** The seed's Free: the domain goes only once none of its grants is left anywhere, confirmed by the API server. */
  @Override
  public DeleteControl cleanup(SupervisedDomain domain, Context<SupervisedDomain> context) {
    String uid = domain.getMetadata().getUid();
    if (!leases.byIndex(Indexes.LEASE_BY_DOMAIN_UID, uid).isEmpty()) {
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(5, TimeUnit.SECONDS);
    }
    // The cache says nothing is held; ask the API server, over every lease: the cache may not have seen a grant on a
    // disk the domain no longer names. One list per deletion.
    for (DiskLease fresh : context.getClient().resources(DiskLease.class).list().getItems()) {
      if (fresh.getStatus() != null && fresh.getStatus().holders.stream().anyMatch(h -> h.uid.equals(uid))) {
        log.info("event=finalizer-kept domain={} lease={} reason=grant-not-released-yet", DomainDisks.key(domain),
            fresh.getMetadata().getName());
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(5, TimeUnit.SECONDS);
      }
    }
    log.info("event=finalizer-removed domain={} uid={}", DomainDisks.key(domain), uid);
    return DeleteControl.defaultDelete();
  }

  private SupervisedDomainStatus desiredStatus(SupervisedDomain domain, List<DomainDisks.Resolved> disks, String node) {
    SupervisedDomainStatus current = domain.getStatus() == null ? new SupervisedDomainStatus() : domain.getStatus();
    String uid = domain.getMetadata().getUid();
    long generation = domain.getMetadata().getGeneration();
    boolean wants = DomainDisks.wantsLeases(domain);
    SupervisedDomainStatus desired = new SupervisedDomainStatus();
    desired.node = node;
    desired.observedGeneration = generation;
    desired.leases = new ArrayList<>();

    String notGrantedReason = null;
    String notGrantedMessage = null;
    int granted = 0;
    for (DomainDisks.Resolved disk : disks) {
      DiskLease lease = leases.get(new ResourceID(disk.leaseName())).orElse(null);
      DomainLease entry = new DomainLease();
      entry.path = disk.path() != null ? disk.path() : lease == null ? null : lease.getSpec().path;
      entry.leaseName = disk.leaseName();
      entry.leaseUid = lease == null ? null : lease.getMetadata().getUid();
      entry.mode = disk.mode();
      LeaseHolder holder = lease == null || lease.getStatus() == null ? null
          : lease.getStatus().holders.stream().filter(h -> h.uid.equals(uid)).findFirst().orElse(null);
      // Granted means granted in the mode the spec asks for: a held Shared grant is no Exclusive one.
      if (holder != null && Objects.equals(holder.node, node) && holder.mode == disk.mode()) {
        // A running process gets a new disk (hot-plug) only once its supervisor holds the local lock too.
        boolean locking = current.pid != null && (current.locks == null || current.locks.stream()
            .noneMatch(l -> disk.leaseName().equals(l.leaseName) && Objects.equals(holder.epoch, l.epoch)));
        entry.state = locking ? DomainLeaseState.Locking : DomainLeaseState.Granted;
        entry.epoch = holder.epoch;
        granted += locking ? 0 : 1;
        if (locking && notGrantedReason == null) {
          notGrantedReason = "Locking";
          notGrantedMessage = "DiskLease " + disk.leaseName() + " is granted; the supervisor on " + node
              + " is taking its local lock";
        }
      } else {
        entry.state = wants ? DomainLeaseState.Waiting : DomainLeaseState.Released;
        if (notGrantedReason == null) {
          String[] why = whyNotGranted(domain, lease, disk, node);
          notGrantedReason = why[0];
          notGrantedMessage = why[1];
        }
      }
      desired.leases.add(entry);
    }
    desired.leaseSummary = granted + "/" + disks.size();

    // A node no agent ever ran on is dead to the lease controller (grants left there would be revoked), but a domain
    // placed there that holds nothing on it was never fenced: it waits for an agent, and says so.
    boolean nodeUnknown = liveness.isUnknown(node);
    boolean nodeDead = node != null && liveness.isDead(node) && !(nodeUnknown && !holdsAnyGrantOn(domain, node));
    boolean allGranted = granted == disks.size();
    List<Condition> conditions = new ArrayList<>();
    conditions.add(Conditions.next(current.conditions, DomainConditions.LEASES_GRANTED, allGranted,
        allGranted ? "AllGranted" : notGrantedReason,
        allGranted ? granted + " of " + disks.size() + " leases granted on " + node : notGrantedMessage, generation,
        Instant.now()));
    String previousNode = current.node;
    boolean failingOver = previousNode != null && node != null && !previousNode.equals(node) && liveness.isDead(previousNode);
    Condition failedOverBefore = failingOver ? null : current.conditions == null ? null : current.conditions.stream()
        .filter(c -> DomainConditions.FENCED.equals(c.getType())
            && DomainConditions.REASON_FAILED_OVER.equals(c.getReason())).findFirst().orElse(null);
    conditions.add(Conditions.next(current.conditions, DomainConditions.FENCED, nodeDead,
        nodeDead ? DomainConditions.REASON_NODE_DEAD
            : nodeUnknown ? DomainConditions.REASON_NODE_UNKNOWN
            : failingOver || failedOverBefore != null ? DomainConditions.REASON_FAILED_OVER : "NodeAlive",
        nodeDead ? "node " + node + " stopped renewing its lease; its grants are revoked"
            : nodeUnknown ? neverRenewed(node) + "; nothing was granted there, so nothing is fenced"
            : failingOver ? "failed over from " + previousNode + " (dead) to " + node
            : failedOverBefore != null ? failedOverBefore.getMessage()
            : node == null ? "not placed" : "node " + node + " is not dead", generation, Instant.now()));
    desired.conditions = conditions;

    DomainPhase phase = current.phase;
    // A move to another node starts the process afresh there: the old node's process phase no longer says anything.
    boolean moved = previousNode != null && node != null && !previousNode.equals(node);
    if (nodeDead) {
      desired.phase = DomainPhase.Fenced;
    } else if (phase == null || OPERATOR_PHASES.contains(phase) || moved) {
      desired.phase = node == null || !liveness.isAlive(node) ? DomainPhase.Pending
          : !wants ? DomainPhase.Stopped
          : allGranted ? DomainPhase.Starting
          : DomainPhase.Waiting;
    }
    // Otherwise the agent reports the process phase and owns it.
    return desired;
  }

  private String[] whyNotGranted(SupervisedDomain domain, DiskLease lease, DomainDisks.Resolved disk, String node) {
    String namespace = domain.getMetadata().getNamespace();
    if (!DomainDisks.wantsLeases(domain)) {
      return new String[] {"NotRunning", "the domain does not ask for its leases (running: false, completed, refused by its node's policy, or deleted)"};
    }
    if (lease == null && disk.path() == null) {
      return new String[] {DomainConditions.REASON_LEASE_NOT_FOUND,
          "DiskLease " + disk.leaseName() + " does not exist; create it, or name the disk by path"};
    }
    if (lease != null && !LeasePolicy.allowsNamespace(lease, namespace)) {
      return new String[] {DomainConditions.REASON_NAMESPACE_NOT_ALLOWED,
          "DiskLease " + disk.leaseName() + " does not allow namespace " + namespace};
    }
    if (lease != null && lease.getStatus() != null && lease.getStatus().conditions.stream().anyMatch(c ->
        LeaseArbiter.READY.equals(c.getType()) && PathClaims.DUPLICATE_PATH.equals(c.getReason()))) {
      return new String[] {DomainConditions.REASON_DUPLICATE_PATH,
          "DiskLease " + disk.leaseName() + " shares its path with an older DiskLease and grants nothing"};
    }
    if (liveness.isUnknown(node)) {
      return new String[] {DomainConditions.REASON_NODE_UNKNOWN,
          neverRenewed(node) + ": is the agent installed there, and is the node's name right?"};
    }
    if (node == null || !liveness.isAlive(node)) {
      return new String[] {DomainConditions.REASON_NO_LIVE_NODE,
          node == null ? "no candidate node is alive" : "node " + node + " is not renewing its lease"};
    }
    String uid = domain.getMetadata().getUid();
    LeaseHolder held = lease == null || lease.getStatus() == null ? null
        : lease.getStatus().holders.stream().filter(h -> h.uid.equals(uid)).findFirst().orElse(null);
    if (held != null && held.mode != disk.mode()) {
      return new String[] {"ModeChange", "DiskLease " + disk.leaseName() + " is held as " + held.mode
          + "; " + disk.mode() + " is asked for once the agent has released that grant"};
    }
    String reason = lease == null || lease.getStatus() == null ? null : lease.getStatus().waiting.stream()
        .filter(w -> w.uid.equals(uid)).map(w -> w.reason).findFirst().orElse(null);
    return new String[] {"Waiting", "waiting for DiskLease " + disk.leaseName()
        + (reason != null ? ": " + reason : " (earlier leases in lease-name order first)")};
  }

  private void report(SupervisedDomain domain, SupervisedDomainStatus current, SupervisedDomainStatus desired) {
    String key = DomainDisks.key(domain);
    if (!Objects.equals(current.node, desired.node) && desired.node != null) {
      if (current.node == null) {
        log.info("event=placed domain={} node={}", key, desired.node); // no Event: the grant's Event follows
      } else if (!liveness.isDead(current.node)) {
        log.info("event=moved domain={} from={} to={} reason=migration", key, current.node, desired.node);
      } else {
        log.warn("event=failed-over domain={} from={} to={}", key, current.node, desired.node);
        events.warning(domain, "FailedOver", "node " + current.node + " is dead; placed on " + desired.node);
      }
    }
    if (desired.phase == DomainPhase.Fenced && current.phase != DomainPhase.Fenced) {
      log.warn("event=fenced domain={} node={}", key, desired.node);
      events.warning(domain, "Fenced", "node " + desired.node + " is dead; grants revoked");
    }
    Condition leasesGranted = desired.conditions.get(0);
    boolean newlyRefused = DomainConditions.REASON_NAMESPACE_NOT_ALLOWED.equals(leasesGranted.getReason())
        && !hasReason(current, DomainConditions.LEASES_GRANTED, DomainConditions.REASON_NAMESPACE_NOT_ALLOWED);
    if (newlyRefused) {
      metrics.conflict(DomainConditions.REASON_NAMESPACE_NOT_ALLOWED);
      events.warning(domain, DomainConditions.REASON_NAMESPACE_NOT_ALLOWED, leasesGranted.getMessage());
    }
  }

  private void reportHandOff(SupervisedDomain domain, HandOff.Step step) {
    if (step.event() == null) {
      return;
    }
    MigrationStatus m = step.status();
    log.info("event=migration-{} domain={} source={} target={} mode={} handoffMillis={} message=\"{}\"",
        step.event().toLowerCase(), DomainDisks.key(domain), m.source, m.target, m.mode, m.handoffMillis, m.message);
    if (step.result() != null && !"completed".equals(step.result())) {
      events.warning(domain, "Migration" + step.event(), m.message);
    } else {
      events.normal(domain, "Migration" + step.event(), m.source + " -> " + m.target + ": " + m.message);
    }
    if (step.result() != null) {
      metrics.migration(step.result(), m.handoffMillis);
    }
  }

  private static String neverRenewed(String node) {
    return "no lockwarden agent has ever renewed a Lease for node " + node + " (no Lease "
        + NodeLiveness.leaseName(node) + " seen)";
  }

  /** Whether any DiskLease lists this domain as a holder on {@code node}. */
  private boolean holdsAnyGrantOn(SupervisedDomain domain, String node) {
    String uid = domain.getMetadata().getUid();
    return leases.byIndex(Indexes.LEASE_BY_DOMAIN_UID, uid).stream().anyMatch(l -> l.getStatus() != null
        && l.getStatus().holders.stream().anyMatch(h -> h.uid.equals(uid) && node.equals(h.node)));
  }

  /** Whether every disk of the domain is granted to it on {@code node}. */
  private boolean holdsEveryGrantOn(SupervisedDomain domain, List<DomainDisks.Resolved> disks, String node) {
    String uid = domain.getMetadata().getUid();
    return disks.stream().allMatch(disk -> leases.get(new ResourceID(disk.leaseName()))
        .map(l -> l.getStatus() != null && l.getStatus().holders.stream()
            .anyMatch(h -> h.uid.equals(uid) && node.equals(h.node)))
        .orElse(false));
  }

  private void createAutoLeases(List<DomainDisks.Resolved> disks, KubernetesClient client) {
    for (DomainDisks.Resolved disk : disks) {
      if (disk.path() == null || !disk.leaseName().equals(LeaseNames.autoName(disk.path()))
          || leases.get(new ResourceID(disk.leaseName())).isPresent()) {
        continue;
      }
      DiskLease lease = new DiskLease();
      // Born with the lease controller's finalizer, which saves that controller a write before its first decision.
      lease.setMetadata(new ObjectMetaBuilder().withName(disk.leaseName())
          .withLabels(Map.of(LeaseNames.AUTO_LABEL, "true")).withFinalizers(LeaseReconciler.FINALIZER).build());
      lease.setSpec(new io.lockwarden.api.v1alpha1.DiskLeaseSpec());
      lease.getSpec().path = disk.path();
      try {
        DiskLease created = client.resource(lease).create();
        log.info("event=auto-lease-created lease={} path={}", disk.leaseName(), disk.path());
        // Claim the path now, off the grant's critical path; the lease controller would otherwise do it first thing.
        pathClaims.blockReason(created, leasesWithPath(disk.path()));
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
      }
    }
  }

  private boolean holdsAnyGrant(SupervisedDomain domain) {
    String uid = domain.getMetadata().getUid();
    return leases.byIndex(Indexes.LEASE_BY_DOMAIN_UID, uid).stream()
        .anyMatch(l -> l.getStatus().holders.stream().anyMatch(h -> h.uid.equals(uid)));
  }

  private List<DiskLease> leasesWithPath(String path) {
    return leases.byIndex(Indexes.LEASE_BY_PATH, path);
  }

  /** The domains a lease event may change: its holders and waiters, and the domains whose disks name it. */
  private Set<ResourceID> domainsOf(DiskLease lease) {
    Set<ResourceID> ids = new HashSet<>();
    if (lease.getStatus() != null) {
      lease.getStatus().holders.forEach(h -> ids.add(domainId(h.domain)));
      lease.getStatus().waiting.forEach(w -> ids.add(domainId(w.domain)));
    }
    domains.byIndex(Indexes.DOMAIN_BY_DISK, Indexes.byName(lease.getMetadata().getName()))
        .forEach(d -> ids.add(ResourceID.fromResource(d)));
    if (lease.getSpec() != null) {
      domains.byIndex(Indexes.DOMAIN_BY_DISK, Indexes.byPath(lease.getSpec().path))
          .forEach(d -> ids.add(ResourceID.fromResource(d)));
    }
    return ids;
  }

  private static ResourceID domainId(String key) {
    String[] parts = key.split("/", 2);
    return new ResourceID(parts[1], parts[0]);
  }

  private static boolean hasReason(SupervisedDomainStatus status, String type, String reason) {
    return status.conditions != null && status.conditions.stream()
        .anyMatch(c -> type.equals(c.getType()) && reason.equals(c.getReason()));
  }

  /** Compares only what the operator writes, so the agent's fields never cause a write. */
  private static boolean sameOperatorFields(SupervisedDomainStatus current, SupervisedDomainStatus desired) {
    Comparator<Condition> byType = Comparator.comparing(Condition::getType);
    List<Condition> ours = current.conditions == null ? List.of() : current.conditions.stream()
        .filter(c -> desired.conditions.stream().anyMatch(d -> d.getType().equals(c.getType()))).sorted(byType).toList();
    return Objects.equals(current.node, desired.node)
        && (desired.phase == null || desired.phase == current.phase)
        && Objects.equals(current.observedGeneration, desired.observedGeneration)
        && Objects.equals(current.leaseSummary, desired.leaseSummary)
        && json(current.leases).equals(json(desired.leases))
        && json(HandOff.operatorPart(current.migration)).equals(json(desired.migration))
        && json(ours).equals(json(desired.conditions.stream().sorted(byType).toList()));
  }

  private static Object json(Object value) {
    return Serialization.jsonMapper().valueToTree(value);
  }
}
