package io.lockwarden.agent.domain;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.agent.config.AgentConfig;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.LockTarget;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.report.StatusReporter;
import io.lockwarden.agent.supervisor.Deadline;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorMain;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.ExitStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import io.lockwarden.api.v1alpha1.RestartPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.api.v1alpha1.SupervisorInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent: runs one supervisor per domain the operator placed on this node and granted every lease to, and is
 * the only thing that may extend their right to the disks.
 *
 * <p>Two threads, one lock. The <b>heartbeat</b> thread renews the node Lease and then, for each supervisor whose grants
 * are confirmed, writes the new deadline into its run directory. The <b>pass</b> thread (every 500 ms and on every
 * informer event) compares each domain with its supervisor: start, stop, kill, hot-plug, restart with back-off, and
 * the agent's part of the status. Neither holds the lock across a network call, so a slow API server never delays a
 * deadline by more than the call that is slow.
 *
 * <p>A fence mark on the node Lease (the operator declared the node dead) kills every supervisor, and every grant the
 * node held at that moment is never used again: it is reported released. See docs/safety.md (TIME-2, AGENT-*).
 */
public final class NodeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeAgent.class);
  private static final String HOLDER_UID = "holderUid";
  /** Passes also run on every watch event; the timer only notices what the supervisors changed on their own. */
  private static final long PASS_MILLIS = 500;
  /** During a hand-off this node takes part in, the supervisors' state changes are watched this often. */
  private static final long HAND_OFF_PASS_MILLIS = 10;
  private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
  /** A process that ran this long before exiting starts its back-off afresh. */
  private static final Duration STABLE_RUN = Duration.ofMinutes(1);
  /** A start needs at least this much proven time left, so a supervisor never starts into an expiring deadline. */
  private static final Duration START_MARGIN = Duration.ofSeconds(1);

  private final AgentConfig config;
  private final KubernetesClient client;
  private final NodePolicy policy;
  private final NodeHeartbeat heartbeat;
  private final AgentMetrics metrics;
  private final StatusReporter reporter;
  private final Path domainsDir;
  private final String node;
  private final Map<String, DomainRecord> records = new HashMap<>(); // guarded by this
  private final Set<String> fencedGrants = new HashSet<>(); // guarded by this
  private String fenceHandled; // guarded by this
  private final ScheduledExecutorService passes = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "pass"));
  private final ScheduledExecutorService heartbeats =
      Executors.newSingleThreadScheduledExecutor(r -> thread(r, "heartbeat"));
  private final AtomicBoolean passQueued = new AtomicBoolean();
  /** Set once both informers have synced: before that, an empty cache would look like every domain deleted. */
  private volatile boolean synced;
  private boolean handOffInProgress; // pass thread only
  private SharedIndexInformer<SupervisedDomain> domains;
  private SharedIndexInformer<DiskLease> leases;

  public NodeAgent(AgentConfig config, KubernetesClient client, NodePolicy policy, NodeHeartbeat heartbeat,
      AgentMetrics metrics) {
    this.config = config;
    this.client = client;
    this.policy = policy;
    this.heartbeat = heartbeat;
    this.metrics = metrics;
    this.node = config.nodeName();
    this.reporter = new StatusReporter(client, node);
    this.domainsDir = config.runDir().resolve("domains");
  }

  /** Adopts what runs, starts watching, then renews and supervises. */
  public void start() throws IOException, InterruptedException, ExecutionException, TimeoutException {
    privateDirectory(config.runDir());
    privateDirectory(domainsDir);
    adoptRunning();
    ResourceEventHandler<Object> wake = new ResourceEventHandler<>() {
      @Override
      public void onAdd(Object obj) {
        wake();
      }

      @Override
      public void onUpdate(Object oldObj, Object newObj) {
        wake();
      }

      @Override
      public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
        wake();
      }
    };
    leases = client.resources(DiskLease.class).runnableInformer(0);
    leases.addIndexers(Map.of(HOLDER_UID, l -> l.getStatus() == null ? List.of()
        : l.getStatus().holders.stream().map(h -> h.uid).distinct().toList()));
    leases.addEventHandler(wake);
    domains = client.resources(SupervisedDomain.class).inAnyNamespace().runnableInformer(0);
    domains.addEventHandler(wake);
    leases.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    domains.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    synced = true;
    heartbeats.scheduleWithFixedDelay(this::heartbeat, 0, config.renewInterval().toMillis(), TimeUnit.MILLISECONDS);
    passes.scheduleWithFixedDelay(this::pass, 0, PASS_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Null when the agent renews and watches, else why not: for /healthz. */
  public String notHealthy() {
    if (domains == null || !domains.isWatching() || !leases.isWatching()) {
      return "not watching SupervisedDomains and DiskLeases";
    }
    return null;
  }

  private void wake() {
    if (passQueued.compareAndSet(false, true)) {
      passes.execute(this::pass);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Heartbeat: renew, handle a fence, extend confirmed deadlines.

  private void heartbeat() {
    try {
      long sent = System.nanoTime();
      if (!heartbeat.renewOnce()) {
        metrics.renewalFailed();
        return;
      }
      metrics.renewed(Duration.ofNanos(System.nanoTime() - sent));
      String fence = heartbeat.fencedSince();
      Collection<DiskLease> fresh = null;
      if (fence != null || anyDeadlinePassed()) {
        // A paused domain resumes, and a fence is handled, only on what the API server says now, not on the cache.
        fresh = client.resources(DiskLease.class).list().getItems();
      }
      synchronized (this) {
        if (fence != null) {
          handleFence(fence, fresh);
        }
        extendDeadlines(heartbeat.validUntil(), fresh);
      }
    } catch (RuntimeException e) {
      log.warn("event=heartbeat-failed node={} error=\"{}\" note=no deadline extended", node, e.getMessage());
    }
  }

  private synchronized boolean anyDeadlinePassed() {
    long now = System.nanoTime();
    return records.values().stream().anyMatch(r -> r.supervision != null && Deadline.read(r.runDir) < now);
  }

  /**
   * The operator declared this node dead and revoked, or is revoking, every grant it held. Those grants are never used
   * again, whatever the cache says: every supervisor is killed, and the grants are reported released. The mark is
   * cleared once none of them is left on a DiskLease.
   */
  private void handleFence(String fence, Collection<DiskLease> fresh) {
    Set<String> stillHeld = new HashSet<>();
    for (DiskLease lease : fresh) {
      if (lease.getStatus() != null) {
        lease.getStatus().holders.stream().filter(h -> node.equals(h.node))
            .forEach(h -> stillHeld.add(lease.getMetadata().getName() + "," + h.epoch));
      }
    }
    if (!fence.equals(fenceHandled)) {
      fencedGrants.addAll(stillHeld);
      for (DomainRecord record : records.values()) {
        if (record.supervision != null && record.supervision.alive()) {
          record.supervision.kill();
          record.killSent = true;
          metrics.fenceAction("kill");
          log.warn("event=fenced-kill domain={} node={} fencedAt={} grants={}", record.key(), node, fence,
              record.supervision.wantedLocks().stream().map(l -> l.lease() + "@" + l.epoch()).toList());
        }
      }
      fenceHandled = fence;
    } else {
      fencedGrants.retainAll(stillHeld);
    }
    if (fencedGrants.isEmpty()) {
      heartbeat.clearFence(fence);
    }
  }

  /** For each supervisor whose every lock is still a grant to its domain on this node, at the same epoch and mode. */
  private void extendDeadlines(long validUntil, Collection<DiskLease> fresh) {
    Map<String, DiskLease> byName = new HashMap<>();
    if (fresh != null) {
      fresh.forEach(l -> byName.put(l.getMetadata().getName(), l));
    }
    for (DomainRecord record : records.values()) {
      Supervision supervision = record.supervision;
      if (supervision == null || !supervision.alive()) {
        continue;
      }
      List<SupervisorArgs.Lock> wanted = supervision.wantedLocks();
      if (record.incoming && wanted.stream().allMatch(l -> l.mode() == LockMode.READ) && supervision.holdRequested()) {
        // A prepared migration target: its process is held and its read locks are compatible with the source's
        // grants, which it does not hold yet. Kept alive while its agent lives; it takes nothing more before the
        // grants move here.
        writeDeadline(record, validUntil);
        continue;
      }
      List<SupervisorArgs.Lock> locks = new ArrayList<>(wanted);
      // Locks it still holds but no longer wants (an unplug in progress) must stay proven too; a lock being swapped
      // for the same lease at another epoch (a migration) is not.
      supervision.state().filter(s -> s.locks != null).ifPresent(s -> s.locks.stream().map(SupervisorArgs.Lock::parse)
          .filter(held -> wanted.stream().noneMatch(w -> w.lease().equals(held.lease()))).forEach(locks::add));
      SupervisorArgs.Lock unconfirmed = locks.stream().filter(lock -> !confirmed(record.uid, lock,
          fresh != null ? byName.get(lock.lease()) : leases.getStore().getByKey(lock.lease()))).findFirst().orElse(null);
      if (unconfirmed == null) {
        writeDeadline(record, validUntil);
      } else {
        log.warn("event=grant-not-confirmed domain={} lease={} epoch={} node={} note=deadline not extended",
            record.key(), unconfirmed.lease(), unconfirmed.epoch(), node);
      }
    }
  }

  private void writeDeadline(DomainRecord record, long validUntil) {
    try {
      Deadline.write(record.runDir, validUntil);
    } catch (IOException e) {
      log.error("event=deadline-write-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  private boolean confirmed(String uid, SupervisorArgs.Lock lock, DiskLease lease) {
    if (lease == null || lease.getStatus() == null || fencedGrants.contains(lock.lease() + "," + lock.epoch())) {
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

  // ---------------------------------------------------------------------------------------------------------------
  // Pass: bring each domain's supervisor in line with its spec and grants, then report.

  private void pass() {
    passQueued.set(false);
    if (!synced) {
      return;
    }
    List<Runnable> reports = new ArrayList<>();
    try {
      synchronized (this) {
        Set<String> seen = new HashSet<>();
        boolean inHandOff = false;
        for (SupervisedDomain domain : domains.getStore().list()) {
          String uid = domain.getMetadata().getUid();
          List<DiskLease> held = leases.getIndexer().byIndex(HOLDER_UID, uid);
          boolean placedHere = node.equals(DomainIntent.node(domain));
          MigrationStatus migration = migrationOf(domain);
          boolean target = migration != null && node.equals(migration.target);
          inHandOff |= migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase)
              && (target || node.equals(migration.source));
          DomainRecord record = records.get(uid);
          if (!placedHere && record == null && held.isEmpty() && !target) {
            continue;
          }
          if (record == null) {
            record = new DomainRecord(uid, domainsDir.resolve(uid));
            records.put(uid, record);
          }
          record.namespace = domain.getMetadata().getNamespace();
          record.name = domain.getMetadata().getName();
          seen.add(uid);
          boolean runsHere = placedHere || takesOver(domain, migration, held);
          DomainGrants grants = DomainGrants.of(domain, node, runsHere, held, fencedGrants);
          step(domain, record, grants, runsHere);
          DomainRecord r = record;
          if (migration != null && node.equals(migration.source) && record.outgoingReleasedAt != null) {
            // First: the operator moves the grants on this report, and the blackout lasts until it does.
            SupervisedDomainStatus outgoing = outgoingStatus(record);
            reports.add(() -> reporter.report(r.namespace, r.name, r.uid, outgoing, StatusReporter.OUTGOING_MANAGER));
          }
          if (placedHere) {
            SupervisedDomainStatus status = agentStatus(domain, record, grants);
            if (status.phase != null && domain.getStatus() != null && status.phase != domain.getStatus().phase) {
              // Our phase was overwritten (the operator says Starting after a move, which can land after our
              // Running): say it again, even though it is what we last sent.
              reporter.forget(uid, StatusReporter.FIELD_MANAGER);
            }
            reports.add(() -> reporter.report(r.namespace, r.name, r.uid, status));
          }
          if (target) {
            SupervisedDomainStatus incoming = incomingStatus(record);
            reports.add(() -> reporter.report(r.namespace, r.name, r.uid, incoming, StatusReporter.INCOMING_MANAGER));
          }
        }
        forgetDeleted(seen);
        handOffInProgress = inHandOff;
        metrics.supervisorsRunning((int) records.values().stream().filter(r -> r.supervision != null).count());
      }
    } catch (RuntimeException e) {
      log.error("event=pass-failed node={} error=\"{}\"", node, e.toString());
    }
    reports.forEach(Runnable::run);
    if (handOffInProgress && passQueued.compareAndSet(false, true)) {
      passes.schedule(this::pass, HAND_OFF_PASS_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * A migration target whose every grant has moved here takes over at once, before status.node says so: the grants
   * are what the right to the disks rests on, and waiting for the operator's placement write would add a round trip
   * to the blackout. Its status is still reported only once status.node names this node.
   */
  private boolean takesOver(SupervisedDomain domain, MigrationStatus migration, List<DiskLease> held) {
    return migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase) && node.equals(migration.target)
        && !held.isEmpty() && DomainGrants.of(domain, node, true, held, fencedGrants).complete();
  }

  /** @param placedHere whether the domain runs on this node: placed here, or taken over in a hand-off */
  private void step(SupervisedDomain domain, DomainRecord record, DomainGrants grants, boolean placedHere) {
    if (record.supervision != null && !record.supervision.alive()) {
      supervisorEnded(domain, record);
    }
    MigrationStatus migration = migrationOf(domain);
    if (migration != null && !Objects.equals(migration.startedAt, record.migrationStartedAt)) {
      // Another migration: what this node said about an earlier one no longer holds, and a supervisor already here
      // (say, the held source of the last one, winding down) is not this one's incoming supervisor.
      record.migrationStartedAt = migration.startedAt;
      record.incoming = false;
      record.incomingFailure = null;
      record.incomingRunningAt = null;
      record.outgoingReleasedAt = null;
    }
    if (!placedHere && migration != null && node.equals(migration.target)) {
      incomingStep(domain, record, migration);
      return;
    }
    boolean sourceHandingOff = placedHere && migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase)
        && node.equals(migration.source);
    Supervision supervision = record.supervision;
    if (sourceHandingOff && supervision == null && record.outgoingReleasedAt == null
        && !Supervision.groupAlive(record.domainPid)) {
      record.outgoingReleasedAt = System.currentTimeMillis(); // Cold: the process has ended, every lock is free
    }
    if (supervision != null) {
      SupervisorState state = supervision.state().orElse(null);
      observe(record, state);
      // A process held for a hand-off does not run: its grants may move (and come back) without it being killed.
      boolean held = state != null && "Held".equals(state.phase);
      boolean heldSource = held && migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase)
          && node.equals(migration.source);
      if (heldSource && !placedHere && domain.getMetadata().getDeletionTimestamp() == null) {
        return; // the grants moved; the process stays held until the target runs (then it ends) or a roll-back
      }
      boolean handingOffHere = migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase)
          && node.equals(migration.target);
      if (held && state.runningAtMillis == null && !handingOffHere) {
        // A prepared copy that never ran, whose migration ended (cancelled, failed, or the domain failed over to this
        // node): it has none of the source's state, so it never runs as the domain. A fresh start follows.
        if (!record.killSent) {
          log.info("event=incoming-ended domain={} node={} phase={}", record.key(), node,
              migration == null ? null : migration.phase);
          supervision.kill();
          record.killSent = true;
        }
        return;
      }
      if (domain.getMetadata().getDeletionTimestamp() != null || (!held && revoked(record, supervision, grants))) {
        if (!record.killSent) {
          // The source copy of a migration that released its locks in the hand-off has nothing left to fence: its
          // end is the migration's, not a fence action (the process already runs on the target).
          boolean handedOff = migration != null && node.equals(migration.source) && record.outgoingReleasedAt != null;
          log.warn("event=supervisor-killed domain={} node={} reason={}", record.key(), node,
              domain.getMetadata().getDeletionTimestamp() != null ? "deleted"
                  : handedOff ? "handed-off" : "grant-revoked");
          supervision.kill(); // the seed's Free: with prejudice
          record.killSent = true;
        }
      } else if (!DomainIntent.wantsLeases(domain) || !placedHere) {
        if (!record.stopSent) {
          log.info("event=supervisor-stopping domain={} node={} reason={}", record.key(), node,
              placedHere ? "not-wanted" : "placed-elsewhere");
          supervision.stop(); // the seed's Shutdown: SIGTERM, SIGKILL after stopGracePeriodSeconds
          record.stopSent = true;
        }
      } else if (sourceHandingOff) {
        handOff(record, supervision, state, migration);
      } else {
        hotPlug(record, supervision, grants);
        boolean target = migration != null && node.equals(migration.target)
            && MigrationStatus.HANDING_OFF.equals(migration.phase);
        if (held && target && state.busyPath != null && record.incomingFailure == null) {
          refuseHandOff(record, supervision, state);
        } else if (held && supervision.holdRequested()) {
          go(domain, record, supervision, state, grants, migration);
        }
      }
      return;
    }
    if (sourceHandingOff) {
      return; // never start the source again during a hand-off
    }
    if (Supervision.groupAlive(record.domainPid)) {
      Supervision.killGroup(record.domainPid); // what is left of a group whose supervisor died may hold a lock
      return;
    }
    record.domainPid = null;
    if (grants.complete() && !Objects.equals(record.completedGeneration, domain.getMetadata().getGeneration())) {
      maybeStart(domain, record, grants);
    }
  }

  /** A lock the supervisor holds or takes whose grant is gone (revoked or fenced) while the disk is still in use. */
  private boolean revoked(DomainRecord record, Supervision supervision, DomainGrants grants) {
    Set<String> granted = new HashSet<>();
    grants.held().stream().filter(g -> !fencedGrants.contains(g.key())).forEach(g -> granted.add(g.key()));
    return supervision.wantedLocks().stream().anyMatch(l -> !granted.contains(l.lease() + "," + l.epoch()));
  }

  /** The seed's AcquireResource and ReleaseResource: the supervisor's wanted locks follow the wanted grants. */
  private void hotPlug(DomainRecord record, Supervision supervision, DomainGrants grants) {
    List<SupervisorArgs.Lock> wanted = new ArrayList<>();
    for (Grant grant : grants.wanted()) {
      try {
        wanted.add(lockFor(grant));
      } catch (NodePolicy.Refused e) {
        refuse(record, NodePolicy.PATH_NOT_ALLOWED, e.getMessage());
      }
    }
    List<SupervisorArgs.Lock> current = supervision.wantedLocks();
    if (!new HashSet<>(wanted).equals(new HashSet<>(current))) {
      try {
        supervision.wantLocks(wanted);
        log.info("event=hot-plug domain={} node={} locks={}", record.key(), node,
            wanted.stream().map(l -> l.lease() + "@" + l.epoch()).toList());
      } catch (IOException e) {
        log.error("event=hot-plug-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
      }
    }
  }

  private void maybeStart(SupervisedDomain domain, DomainRecord record, DomainGrants grants) {
    long now = System.nanoTime();
    if (now < record.notBefore) {
      return;
    }
    SupervisedDomainSpec spec = domain.getSpec();
    String refusal = policy.refuseCommand(spec.command);
    if (refusal != null) {
      refuse(record, NodePolicy.EXECUTABLE_NOT_ALLOWED, refusal);
      return;
    }
    List<SupervisorArgs.Lock> locks = new ArrayList<>();
    try {
      for (Grant grant : grants.wanted()) {
        locks.add(lockFor(grant));
      }
    } catch (NodePolicy.Refused e) {
      refuse(record, NodePolicy.PATH_NOT_ALLOWED, e.getMessage());
      return;
    }
    record.refusal = null;
    record.refusalMessage = null;
    // Start only on a proven right with time left, and never between a fence and its handling.
    long validUntil = heartbeat.validUntil();
    if (heartbeat.fencedSince() != null || validUntil - now < START_MARGIN.toNanos()) {
      return;
    }
    if (record.busyPath != null && stillBusy(record)) {
      return;
    }
    try {
      privateDirectory(record.runDir);
      Deadline.write(record.runDir, validUntil);
      SupervisorArgs args = new SupervisorArgs(record.key(), record.runDir, config.lockspaceDir(),
          spec.onLeaseLoss == null ? LeaseLossAction.Pause : spec.onLeaseLoss, config.pauseTimeout(),
          Duration.ofSeconds(spec.stopGracePeriodSeconds == null ? 30 : spec.stopGracePeriodSeconds),
          config.runAsUid(), config.runAsGid(), null, locks, spec.command);
      record.launched(Supervision.launch(args, environment(domain)));
      record.exitPhase = null;
      record.incoming = false;
      record.startedAt = now;
      record.runningReason = "Starting";
      record.runningMessage = "supervisor started; taking local locks";
      log.info("event=supervisor-started domain={} node={} supervisorPid={} leases={}", record.key(), node,
          record.supervision.pid(), locks.stream().map(l -> l.lease() + "@" + l.epoch()).toList());
    } catch (IOException e) {
      record.notBefore = now + Duration.ofSeconds(5).toNanos();
      log.error("event=supervisor-start-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  /** The seed's SetParameter: the domain's identity and parameters, then its own env; nothing of the agent's. */
  private Map<String, String> environment(SupervisedDomain domain) {
    SupervisedDomainSpec spec = domain.getSpec();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.put("LOCKWARDEN_DOMAIN_NAME", domain.getMetadata().getName());
    env.put("LOCKWARDEN_DOMAIN_NAMESPACE", domain.getMetadata().getNamespace());
    env.put("LOCKWARDEN_DOMAIN_UID", domain.getMetadata().getUid());
    env.put("LOCKWARDEN_NODE_NAME", node);
    env.put("LOCKWARDEN_DOMAIN_UUID", spec.uuid);
    if (spec.id != null) {
      env.put("LOCKWARDEN_DOMAIN_ID", spec.id.toString());
    }
    if (spec.parameters != null) {
      spec.parameters.forEach((k, v) -> env.put("LOCKWARDEN_PARAM_" + k, v));
    }
    if (spec.env != null) {
      spec.env.forEach(e -> env.put(e.name, e.value == null ? "" : e.value));
    }
    return env;
  }

  private SupervisorArgs.Lock lockFor(Grant grant) throws NodePolicy.Refused {
    Path canonical = policy.canonicalDisk(grant.path());
    return new SupervisorArgs.Lock(grant.lockMode(), grant.epoch(), grant.leaseName(), canonical);
  }

  private void refuse(DomainRecord record, String reason, String message) {
    if (!reason.equals(record.refusal) || !message.equals(record.refusalMessage)) {
      log.warn("event=domain-refused domain={} node={} reason={} message=\"{}\"", record.key(), node, reason, message);
    }
    record.refusal = reason;
    record.refusalMessage = message;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Migration (docs/api.md, "Migration"): the source holds its process and lets go of its Exclusive locks; the
  // operator moves every grant to the target with a new epoch; the target, prepared with a held process, takes the
  // locks and runs.

  private static MigrationStatus migrationOf(SupervisedDomain domain) {
    return domain.getStatus() == null ? null : domain.getStatus().migration;
  }

  /** Source, hand-off: Live holds the process and releases its Exclusive locks in one step; Cold stops it. */
  private void handOff(DomainRecord record, Supervision supervision, SupervisorState state, MigrationStatus migration) {
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

  /**
   * A held supervisor on the node the domain is placed on: the migration target after the grants moved here, or the
   * source after a roll-back. Writes the deadline (the grants are in the cache) and lets it run; the supervisor
   * takes every lock first. A lock someone else holds fails the migration: the operator rolls back.
   */
  private void go(SupervisedDomain domain, DomainRecord record, Supervision supervision, SupervisorState state,
      DomainGrants grants, MigrationStatus migration) {
    boolean target = migration != null && node.equals(migration.target);
    long validUntil = heartbeat.validUntil();
    if (!grants.complete() || heartbeat.fencedSince() != null || validUntil <= System.nanoTime()) {
      return;
    }
    try {
      Deadline.write(record.runDir, validUntil);
      supervision.releaseHold();
      log.info("event=hand-off-go domain={} node={} role={}", record.key(), node, target ? "target" : "source");
    } catch (IOException e) {
      log.error("event=hand-off-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  /** Target, at the hand-off: a lock it cannot take fails the migration, and the operator rolls back. */
  private void refuseHandOff(DomainRecord record, Supervision supervision, SupervisorState state) {
    record.incomingFailure = "byte 0 of " + state.busyPath + " is locked outside lockwarden"
        + (state.busyHolderPid != null ? " by pid " + state.busyHolderPid : "");
    log.warn("event=hand-off-refused domain={} node={} reason=\"{}\"", record.key(), node, record.incomingFailure);
    supervision.kill();
    record.killSent = true;
  }

  /** Target, before the grants move here: prepare a held supervisor, or end it when the migration ends. */
  private void incomingStep(SupervisedDomain domain, DomainRecord record, MigrationStatus migration) {
    Supervision supervision = record.supervision;
    boolean active = MigrationStatus.isActive(migration) && record.incomingFailure == null;
    if (supervision != null) {
      // Not this migration's incoming supervisor either: one of an earlier migration, or the held source copy of the
      // last one (this node is not placed, so none of them runs the domain). It goes, and a fresh one prepares.
      if ((!active || !record.incoming) && !record.killSent) {
        log.info("event=incoming-ended domain={} node={} phase={} forThisMigration={}", record.key(), node,
            migration.phase, record.incoming);
        supervision.kill();
        record.killSent = true;
      }
      return;
    }
    if (!active || Supervision.groupAlive(record.domainPid) || !MigrationStatus.isActive(migration)) {
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
      DiskLease lease = leases.getIndexer().byIndex(HOLDER_UID, uid).stream().filter(l -> disk.leaseName != null
          ? disk.leaseName.equals(l.getMetadata().getName()) : disk.path.equals(l.getSpec().path))
          .findFirst().orElse(null);
      LeaseHolder holder = lease == null || lease.getStatus() == null ? null
          : lease.getStatus().holders.stream().filter(h -> uid.equals(h.uid)).findFirst().orElse(null);
      if (holder == null) {
        return; // the source's grant is not in the cache yet
      }
      try {
        locks.add(new SupervisorArgs.Lock(LockMode.READ, holder.epoch, lease.getMetadata().getName(),
            policy.canonicalDisk(lease.getSpec().path)));
      } catch (NodePolicy.Refused e) {
        record.incomingFailure = e.getMessage();
        return;
      }
    }
    long validUntil = heartbeat.validUntil();
    if (heartbeat.fencedSince() != null || validUntil - System.nanoTime() < START_MARGIN.toNanos()) {
      return;
    }
    try {
      privateDirectory(record.runDir);
      Deadline.write(record.runDir, validUntil);
      Files.writeString(record.runDir.resolve(SupervisorMain.HOLD_FILE), "");
      Files.writeString(record.runDir.resolve(DomainRecord.INCOMING_FOR_FILE), migration.startedAt);
      SupervisorArgs args = new SupervisorArgs(record.key(), record.runDir, config.lockspaceDir(),
          spec.onLeaseLoss == null ? LeaseLossAction.Pause : spec.onLeaseLoss, config.pauseTimeout(),
          Duration.ofSeconds(spec.stopGracePeriodSeconds == null ? 30 : spec.stopGracePeriodSeconds),
          config.runAsUid(), config.runAsGid(), migration.mode == null ? MigrationMode.Live : migration.mode, locks,
          spec.command);
      record.launched(Supervision.launch(args, environment(domain)));
      record.incoming = true;
      record.incomingRunningAt = null;
      log.info("event=incoming-started domain={} node={} source={} mode={} supervisorPid={}", record.key(), node,
          migration.source, args.incoming(), record.supervision.pid());
    } catch (IOException e) {
      record.incomingFailure = "cannot start the incoming supervisor: " + e.getMessage();
      log.error("event=incoming-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
    }
  }

  private SupervisedDomainStatus incomingStatus(DomainRecord record) {
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
        && !Supervision.groupAlive(record.domainPid) ? Boolean.TRUE : null;
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.migration = new MigrationStatus();
    status.migration.incoming = incoming;
    return status;
  }

  private SupervisedDomainStatus outgoingStatus(DomainRecord record) {
    MigrationStatus.Outgoing outgoing = new MigrationStatus.Outgoing();
    outgoing.node = node;
    outgoing.startedAt = record.migrationStartedAt;
    outgoing.releasedAtMillis = record.outgoingReleasedAt;
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.migration = new MigrationStatus();
    status.migration.outgoing = outgoing;
    return status;
  }

  /** Whether the foreign holder that made the last start fail still holds the byte. */
  private boolean stillBusy(DomainRecord record) {
    try {
      return OfdLocks.isBusy(Path.of(record.busyPath), LockMode.valueOf(record.busyMode));
    } catch (IOException | RuntimeException e) {
      return false; // the supervisor will find out, and say so
    }
  }

  /**
   * Counts fence actions as the supervisor reports them: by its own counters, not by the phases seen, because a
   * pause and its resume can both fall between two looks (while this agent was itself stopped, say).
   */
  private void observe(DomainRecord record, SupervisorState state) {
    if (state != null) {
      if (record.pausesSeen == null) { // adopted after a restart: the agent before counted what happened so far
        record.pausesSeen = state.pauses;
        record.resumesSeen = state.resumes;
      }
      for (; record.pausesSeen < state.pauses; record.pausesSeen++) {
        metrics.fenceAction("pause");
        log.warn("event=domain-paused domain={} node={} note=right to the disks not proven in time", record.key(),
            node);
      }
      for (; record.resumesSeen < state.resumes; record.resumesSeen++) {
        metrics.fenceAction("resume");
        log.info("event=domain-resumed domain={} node={}", record.key(), node);
      }
    }
    String phase = state == null ? null : state.phase;
    if (Objects.equals(phase, record.lastSupervisorPhase)) {
      return;
    }
    if ("Running".equals(phase)) {
      record.busyPath = null;
      record.busyPid = null;
    }
    record.lastSupervisorPhase = phase;
  }

  /** The supervisor is gone: record how the domain ended and decide whether and when it starts again. */
  private void supervisorEnded(SupervisedDomain domain, DomainRecord record) {
    SupervisorState state = record.supervision.state().orElse(null);
    SupervisorArgs args = record.supervision.args();
    record.supervision = null;
    record.domainPid = state == null ? null : state.pid;
    Supervision.killGroup(record.domainPid);
    long now = System.nanoTime();
    if (state != null && "LocalLockBusy".equals(state.phase)) {
      if (!Objects.equals(state.busyPath, record.busyPath)) {
        metrics.localLockConflict();
      }
      record.busyPath = state.busyPath;
      record.busyPid = state.busyHolderPid;
      SupervisorArgs.Lock busy = lockOn(args.locks(), args, state.busyPath);
      record.busyMode = busy == null ? LockMode.WRITE.name() : busy.mode().name();
      record.busyLease = busy == null ? null : busy.lease();
      record.runningReason = "LocalLockBusy";
      record.runningMessage = state.message + "; starting as soon as it is free";
      log.warn("event=local-lock-busy domain={} node={} path={} holderPid={}", record.key(), node, state.busyPath,
          state.busyHolderPid);
      return;
    }
    if (state == null || state.pid == null) {
      // The domain's process never started (no proven right at start, or the supervisor died first): try again soon.
      record.notBefore = now + Duration.ofSeconds(1).toNanos();
      record.runningReason = "NotStarted";
      record.runningMessage = state != null && state.message != null ? state.message : "the supervisor ended early";
      return;
    }
    ExitStatus exit = new ExitStatus();
    boolean reported = "Exited".equals(state.phase);
    exit.code = reported ? state.exitCode : null;
    exit.signal = reported ? state.exitSignal : Integer.valueOf(9);
    exit.at = Instant.now().toString();
    record.lastExit = exit;
    String how = exit.code != null ? "exited with code " + exit.code
        : "was killed by signal " + exit.signal + (reported ? "" : " (its supervisor died)");
    boolean success = exit.code != null && exit.code == 0;
    boolean asked = record.stopSent || record.killSent || !DomainIntent.wantsLeases(domain);
    if (!asked && exit.signal != null && exit.signal == 9 && "Paused".equals(record.lastSupervisorPhase)) {
      metrics.fenceAction("kill"); // pauseTimeout ran out
    }
    RestartPolicy policy = domain.getSpec().restartPolicy == null ? RestartPolicy.Always : domain.getSpec().restartPolicy;
    boolean restart = !asked && (policy == RestartPolicy.Always || (policy == RestartPolicy.OnFailure && !success));
    record.exitPhase = success || asked ? DomainPhase.Stopped : DomainPhase.Failed;
    if (asked) {
      record.runningReason = "Stopped";
      record.runningMessage = "the process " + how + " after it was asked to stop";
    } else if (restart) {
      Duration ran = Duration.ofNanos(now - record.startedAt);
      record.failures = ran.compareTo(STABLE_RUN) > 0 ? 1 : record.failures + 1;
      Duration backoff = Duration.ofSeconds(1L << Math.min(record.failures - 1, 16));
      backoff = backoff.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff;
      record.notBefore = now + backoff.toNanos();
      record.runningReason = "BackOff";
      record.runningMessage = "the process " + how + "; restartPolicy " + policy + " starts it again in "
          + backoff.toSeconds() + " s";
    } else {
      record.completedGeneration = domain.getMetadata().getGeneration();
      record.runningReason = DomainConditions.REASON_COMPLETED;
      record.runningMessage = "the process " + how + "; restartPolicy " + policy + " does not start it again";
    }
    log.info("event=domain-exited domain={} node={} code={} signal={} restart={} reason={}", record.key(), node,
        exit.code, exit.signal, restart, record.runningReason);
  }

  /** Domains gone from the API server: kill what still runs, then forget them and their run directories. */
  private void forgetDeleted(Set<String> seen) {
    for (var it = records.values().iterator(); it.hasNext(); ) {
      DomainRecord record = it.next();
      if (seen.contains(record.uid)) {
        continue;
      }
      if (record.supervision != null && record.supervision.alive()) {
        if (!record.killSent) {
          log.warn("event=supervisor-killed domain={} node={} reason=domain-gone", record.key(), node);
          record.supervision.kill();
          record.killSent = true;
        }
        continue;
      }
      Long domainPid = record.supervision != null ? record.supervision.state().map(s -> s.pid).orElse(null)
          : record.domainPid;
      if (Supervision.groupAlive(domainPid)) {
        Supervision.killGroup(domainPid);
        continue;
      }
      deleteRecursively(record.runDir);
      reporter.forget(record.uid);
      it.remove();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Status: the agent's part.

  private SupervisedDomainStatus agentStatus(SupervisedDomain domain, DomainRecord record, DomainGrants grants) {
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
    status.lastExit = record.lastExit;
    if (state != null && state.locks != null && !state.locks.isEmpty()) {
      status.locks = state.locks.stream().map(SupervisorArgs.Lock::parse)
          .map(l -> new ReleasedGrant(l.lease(), null, l.epoch())).toList();
    }
    List<ReleasedGrant> released = released(record, state, grants);
    status.released = released.isEmpty() ? null : released;

    List<Condition> previous = domain.getStatus() == null ? null : domain.getStatus().conditions;
    Long generation = domain.getMetadata().getGeneration();
    Instant now = Instant.now();
    List<Condition> conditions = new ArrayList<>();
    boolean running = "Running".equals(supervisorPhase);
    String reason = running ? "Running" : supervision != null && supervisorPhase != null
        && !"Starting".equals(supervisorPhase) ? supervisorPhase : record.runningReason;
    String message = running ? "pid " + state.pid + " runs with every local lock held"
        : supervision != null && state != null && state.message != null ? state.message : record.runningMessage;
    if (supervision == null && !grants.complete() && !DomainConditions.REASON_COMPLETED.equals(reason)
        && !"Stopped".equals(reason)) {
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
    if (record.refusal != null) {
      conditions.add(Conditions.next(previous, record.refusal, true, record.refusal, record.refusalMessage,
          generation, now));
    }
    conditions.sort(Comparator.comparing(Condition::getType));
    status.conditions = conditions;
    return status;
  }

  /** The lock whose lock file is {@code lockFile}, or null. */
  private static SupervisorArgs.Lock lockOn(List<SupervisorArgs.Lock> locks, SupervisorArgs args, String lockFile) {
    return locks.stream().filter(l -> LockTarget.nameOf(l.path(), args.lockspaceDir()).toString().equals(lockFile))
        .findFirst().orElse(null);
  }

  /**
   * Grants on this node the domain no longer wants and no process can use: not in the supervisor's wanted locks, not
   * in what it reports holding, and no process of the domain's group left (a child could hold an inherited lock).
   */
  private List<ReleasedGrant> released(DomainRecord record, SupervisorState state, DomainGrants grants) {
    Set<String> maybeLocked = new HashSet<>();
    if (record.supervision != null) {
      List<SupervisorArgs.Lock> locks = new ArrayList<>(record.supervision.wantedLocks());
      if (state == null || state.locks == null || "Starting".equals(state.phase)) {
        locks.addAll(record.supervision.args().locks()); // still taking the locks it started with
      } else {
        state.locks.forEach(line -> locks.add(SupervisorArgs.Lock.parse(line)));
      }
      locks.forEach(l -> maybeLocked.add(l.lease() + "," + l.epoch()));
    } else if (Supervision.groupAlive(record.domainPid)) {
      return List.of();
    }
    return grants.held().stream().filter(g -> !grants.wanted().contains(g) && !maybeLocked.contains(g.key()))
        .map(Grant::released).toList();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Start-up and shutdown.

  /** The migration an adopted incoming supervisor was started for, or null if its agent never said. */
  private static String incomingFor(Path runDir) {
    try {
      return Files.readString(runDir.resolve(DomainRecord.INCOMING_FOR_FILE)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  /** The seed's NEW_ATTACH: supervisors that outlived an earlier agent, each checked by pid and start time. */
  private void adoptRunning() throws IOException {
    try (Stream<Path> dirs = Files.list(domainsDir)) {
      for (Path dir : dirs.toList()) {
        DomainRecord record = new DomainRecord(dir.getFileName().toString(), dir);
        Supervision.adopt(dir).ifPresentOrElse(s -> {
          record.supervision = s;
          String[] key = s.args().domain().split("/", 2);
          record.namespace = key[0];
          record.name = key[1];
          record.incoming = s.args().incoming() != null;
          if (record.incoming) {
            record.migrationStartedAt = incomingFor(dir);
          }
          record.startedAt = System.nanoTime();
          log.info("event=supervisor-adopted domain={} node={} supervisorPid={}", record.key(), node, s.pid());
        }, () -> {
          try {
            SupervisorState state = SupervisorState.read(dir);
            record.domainPid = state.pid; // a recycled pid would not lead this group: see Supervision.groupAlive
          } catch (IOException e) {
            // nothing ran here
          }
        });
        records.put(record.uid, record);
      }
    }
  }

  @Override
  public void close() {
    // Supervisors are left running on purpose: an agent restart or upgrade must not touch the domains.
    heartbeats.shutdownNow();
    passes.shutdownNow();
    try {
      heartbeats.awaitTermination(5, TimeUnit.SECONDS);
      passes.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (domains != null) {
      domains.close();
    }
    if (leases != null) {
      leases.close();
    }
  }

  private static void privateDirectory(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("event=run-dir-cleanup-failed dir={} error=\"{}\"", dir, e.getMessage());
    }
  }

  private static Thread thread(Runnable r, String name) {
    Thread thread = new Thread(r, name);
    thread.setDaemon(true);
    return thread;
  }
}
