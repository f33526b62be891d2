package io.lockwarden.agent.domain;

import io.lockwarden.agent.fence.FenceResponse;
import io.lockwarden.agent.fence.SpentGrants;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.migration.MigrationSource;
import io.lockwarden.agent.migration.MigrationTarget;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.supervisor.DomainRemains;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.UnplugPolicy;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One domain's supervisor brought in line with its spec and grants, once per pass: a ladder of early returns, each
 * with its reason. Start (every lease granted, command and paths allowed, a proven right with time left, no foreign
 * holder), stop ({@code running: false}: the seed's Shutdown), kill (deleted, or a grant revoked: the seed's Free),
 * hot-plug, and the migration steps of either side.
 */
public final class DomainLifecycle {
  private static final Logger log = LoggerFactory.getLogger(DomainLifecycle.class);
  /** A killed supervisor normally ends within a check or two of its domain; this is for one that is stopped or hung. */
  private static final Duration FORCE_END_AFTER = Duration.ofSeconds(10);

  private final String node;
  /** Whether this agent serves libvirt's lockd socket: only then can an attached domain's process appear here. */
  private final boolean servesLockd;
  private final NodePolicy policy;
  private final NodeHeartbeat heartbeat;
  private final FenceResponse fence;
  private final SpentGrants spent;
  private final AgentMetrics metrics;
  private final GrantLocks grantLocks;
  private final Refusals refusals;
  private final HotPlug hotPlug;
  private final SupervisorLauncher launcher;
  private final MigrationSource source;
  private final MigrationTarget target;
  private final Exits exits;

  public DomainLifecycle(String node, NodePolicy policy, NodeHeartbeat heartbeat, FenceResponse fence,
      SpentGrants spent, AgentMetrics metrics, GrantLocks grantLocks, Refusals refusals, HotPlug hotPlug,
      SupervisorLauncher launcher, MigrationSource source, MigrationTarget target, boolean servesLockd) {
    this.node = node;
    this.servesLockd = servesLockd;
    this.policy = policy;
    this.heartbeat = heartbeat;
    this.fence = fence;
    this.spent = spent;
    this.metrics = metrics;
    this.grantLocks = grantLocks;
    this.refusals = refusals;
    this.hotPlug = hotPlug;
    this.launcher = launcher;
    this.source = source;
    this.target = target;
    this.exits = new Exits(node, metrics);
  }

  /** @param runsHere whether the domain runs on this node: placed here, or taken over in a hand-off */
  public void step(SupervisedDomain domain, DomainRecord record, DomainGrants grants, boolean runsHere) {
    if (record.supervision != null && !record.supervision.alive()) {
      exits.supervisorEnded(domain, record);
    }
    if (record.supervision == null && !record.drainOwed.isEmpty() && !record.remains.alive()) {
      drain(record); // nothing of it is left: what it wrote goes to the storage before any release
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
    // A domain deleted during its migration is no longer prepared for: what runs here ends and its grants go (found
    // by the chaos run: grants handed to a target after the user deleted the domain were never released, as the
    // operator completes no migration of a deleted domain, and its finalizer waited for ever).
    boolean deleted = domain.getMetadata().getDeletionTimestamp() != null;
    if (!runsHere && migration != null && node.equals(migration.target) && !deleted) {
      target.prepare(domain, record, migration);
      return;
    }
    boolean handingOff = migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase);
    boolean sourceHandingOff = runsHere && handingOff && node.equals(migration.source);
    Supervision supervision = record.supervision;
    if (sourceHandingOff && supervision == null && record.outgoingReleasedAt == null
        && !record.remains.alive() && record.drainOwed.isEmpty()) {
      record.outgoingReleasedAt = System.currentTimeMillis(); // Cold: the process has ended, every lock is free
    }
    if (supervision != null) {
      withSupervisor(domain, record, supervision, grants, runsHere, migration);
      return;
    }
    if (sourceHandingOff) {
      return; // never start the source again during a hand-off
    }
    if (record.remains.alive()) {
      record.remains.kill(); // what is left of a domain whose supervisor died may still write
      return;
    }
    record.remains.cleanUp();
    record.remains = DomainRemains.none();
    if (DomainIntent.attached(domain) && !runsHere && !servesLockd && node.equals(domain.getSpec().attach.node)
        && DomainIntent.wantsLeases(domain)) {
      // Its process is gone and no lockd socket here can bring another: nothing will sweep its disks, and the
      // operator would grant them again as fast as this agent reports them released.
      refusals.refuseStart(record, DomainConditions.REASON_PROCESS_GONE, "the process libvirt named ("
          + domain.getSpec().attach.process + ") is not running on node " + node + ", whose agent serves no lockd"
          + " socket", domain.getMetadata().getGeneration());
      return;
    }
    // An attached domain's supervisor starts with its process, before any grant: it takes each lock as it comes.
    boolean startable = DomainIntent.attached(domain) ? runsHere && DomainIntent.wantsLeases(domain)
        : grants.complete();
    if (startable && !Objects.equals(record.completedGeneration, domain.getMetadata().getGeneration())) {
      maybeStart(domain, record, grants);
    }
  }

  private void withSupervisor(SupervisedDomain domain, DomainRecord record, Supervision supervision,
      DomainGrants grants, boolean runsHere, MigrationStatus migration) {
    SupervisorState state = supervision.state().orElse(null);
    exits.observe(record, state);
    if (record.killSent && System.nanoTime() - record.killSentAt > FORCE_END_AFTER.toNanos()
        && !supervision.remains().alive()) {
      // Killed, its domain gone, yet it does not end (stopped or hung): it would only hold the locks of nothing.
      log.warn("event=supervisor-forced domain={} node={} note=domain gone, supervisor did not end", record.key(), node);
      supervision.forceEnd();
      return;
    }
    boolean handingOff = migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase);
    boolean deleted = domain.getMetadata().getDeletionTimestamp() != null;
    // A process held for a hand-off does not run: its grants may move (and come back) without it being killed.
    boolean held = state != null && "Held".equals(state.phase);
    if (held && handingOff && node.equals(migration.source) && !runsHere && !deleted) {
      return; // the grants moved; the process stays held until the target runs (then it ends) or a roll-back
    }
    boolean handingOffHere = handingOff && node.equals(migration.target);
    if (held && state.runningAtMillis == null && !handingOffHere) {
      // A prepared copy that never ran, whose migration ended (cancelled, failed, or the domain failed over to this
      // node): it has none of the source's state, so it never runs as the domain. A fresh start follows.
      if (!record.killSent) {
        log.info("event=incoming-ended domain={} node={} phase={}", record.key(), node,
            migration == null ? null : migration.phase);
        kill(record, supervision, "incoming-ended");
      }
      return;
    }
    if (deleted || (!held && revoked(supervision, grants))) {
      if (!record.killSent) {
        // The source copy of a migration that released its locks in the hand-off has nothing left to fence: its
        // end is the migration's, not a fence action (the process already runs on the target).
        boolean handedOff = migration != null && node.equals(migration.source) && record.outgoingReleasedAt != null;
        kill(record, supervision, deleted ? "deleted" : handedOff ? "handed-off" : "grant-revoked");
      }
      return;
    }
    if (!DomainIntent.wantsLeases(domain) || !runsHere) {
      if (!record.stopSent) {
        log.info("event=supervisor-stopping domain={} node={} reason={}", record.key(), node,
            runsHere ? "not-wanted" : "placed-elsewhere");
        supervision.stop(); // the seed's Shutdown: SIGTERM, SIGKILL after stopGracePeriodSeconds
        record.stopSent = true;
      }
      return;
    }
    if (runsHere && handingOff && node.equals(migration.source)) {
      source.handOff(record, supervision, state, migration);
      return;
    }
    hotPlug.apply(record, supervision, grants);
    if (state != null && state.unplugPending != null && domain.getSpec().unplugPolicy == UnplugPolicy.Restart
        && !record.stopSent) {
      log.info("event=unplug-restart domain={} node={} pending=\"{}\"", record.key(), node, state.unplugPending);
      record.restartForUnplug = true;
      record.stopSent = true;
      supervision.stop();
      return;
    }
    if (held && handingOffHere && state.busyPath != null && record.incomingFailure == null) {
      target.refuseHandOff(record, supervision, state);
    } else if (held && supervision.holdRequested()) {
      if (migration != null && node.equals(migration.target)) {
        target.go(record, supervision, grants);
      } else {
        source.resume(record, supervision, grants);
      }
    }
  }

  private void kill(DomainRecord record, Supervision supervision, String reason) {
    log.warn("event=supervisor-killed domain={} node={} reason={}", record.key(), node, reason);
    record.kill(); // the seed's Free: with prejudice
  }

  /** A lock the supervisor holds or takes whose grant is gone (revoked or spent) while the disk is still in use. */
  private boolean revoked(Supervision supervision, DomainGrants grants) {
    Set<String> granted = new HashSet<>();
    grants.held().stream().filter(g -> !spent.contains(g.key())).forEach(g -> granted.add(g.key()));
    return supervision.wantedLocks().stream().anyMatch(l -> !granted.contains(l.lease() + "," + l.epoch()));
  }

  private void maybeStart(SupervisedDomain domain, DomainRecord record, DomainGrants grants) {
    long now = System.nanoTime();
    if (now < record.notBefore) {
      return;
    }
    SupervisorArgs.Attach attach = null;
    if (DomainIntent.attached(domain)) {
      attach = attachedProcess(record.runDir);
      if (attach == null) {
        return; // libvirt runs no process of it here now: nothing to attach to (its disks go: AttachService.sweep)
      }
    } else {
      String refusal = policy.refuseCommand(domain.getSpec().command);
      if (refusal != null) {
        refusals.refuseStart(record, NodePolicy.EXECUTABLE_NOT_ALLOWED, refusal, domain.getMetadata().getGeneration());
        return;
      }
    }
    List<SupervisorArgs.Lock> locks = new ArrayList<>();
    try {
      for (Grant grant : grants.wanted()) {
        locks.add(grantLocks.lockFor(grant));
      }
    } catch (NodePolicy.Refused e) {
      refusals.refuseStart(record, NodePolicy.PATH_NOT_ALLOWED, e.getMessage(), domain.getMetadata().getGeneration());
      return;
    }
    refusals.clear(record);
    // Start only on a proven right with time left, and never between a fence and the cache catching up with it.
    long validUntil = heartbeat.validUntil();
    if (!fence.startsAllowed() || validUntil - now < SupervisorLauncher.START_MARGIN.toNanos()) {
      return;
    }
    if (record.busyPath != null && exits.stillBusy(record)) {
      return;
    }
    try {
      launcher.launch(domain, record, locks, null, attach, validUntil);
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

  /** The live process libvirt named for this attached domain on this node, or null. */
  public static SupervisorArgs.Attach attachedProcess(io.lockwarden.agent.rundir.RunDir runDir) {
    String recorded = runDir.attached();
    if (recorded == null) {
      return null;
    }
    try {
      SupervisorArgs.Attach attach = SupervisorArgs.Attach.parse(recorded);
      return attach.alive() ? attach : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void drain(DomainRecord record) {
    for (java.nio.file.Path disk : record.drainOwed) {
      try {
        Supervision.drain(disk);
      } catch (IOException e) {
        log.warn("event=drain-failed domain={} node={} path={} error=\"{}\" note=released anyway: nothing of the "
            + "domain is left to write", record.key(), node, disk, e.getMessage());
      }
    }
    log.info("event=drained domain={} node={} paths={} note=its supervisor died before its own drain", record.key(),
        node, record.drainOwed);
    record.drainOwed = java.util.List.of();
  }

  static MigrationStatus migrationOf(SupervisedDomain domain) {
    return domain.getStatus() == null ? null : domain.getStatus().migration;
  }
}
