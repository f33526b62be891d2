package io.lockwarden.agent.domain;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.cluster.ClusterView.FreshLeases;
import io.lockwarden.agent.config.AgentConfig;
import io.lockwarden.agent.fence.DeadlineKeeper;
import io.lockwarden.agent.fence.FenceResponse;
import io.lockwarden.agent.fence.SpentGrants;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.migration.MigrationSource;
import io.lockwarden.agent.migration.MigrationTarget;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.report.AgentStatus;
import io.lockwarden.agent.report.StatusReporter;
import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.agent.supervisor.SparePool;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
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
 * the only thing that may extend their right to the disks. This class is the two loops and nothing else; each rule
 * has its own home (docs/architecture.md maps them).
 *
 * <p>Two threads, one lock. The <b>heartbeat</b> thread renews the node Lease, answers a fence mark
 * ({@link FenceResponse}) and extends the deadlines of confirmed supervisors ({@link DeadlineKeeper}). The <b>pass</b>
 * thread (every 500 ms and on every informer event) brings each domain's supervisor in line ({@link DomainLifecycle})
 * and reports the agent's part of its status. Neither holds the lock across a network call, so a slow API server never
 * delays a deadline by more than the call that is slow.
 */
public final class NodeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeAgent.class);
  /** Passes also run on every watch event; the timer only notices what the supervisors changed on their own. */
  private static final long PASS_MILLIS = 500;
  /** During a hand-off this node takes part in, the supervisors' state changes are watched this often. */
  private static final long HAND_OFF_PASS_MILLIS = 10;

  private final AgentConfig config;
  private final NodeHeartbeat heartbeat;
  private final AgentMetrics metrics;
  private final StatusReporter reporter;
  private final Path domainsDir;
  private final String node;
  private final ClusterView view;
  private final DomainsOutOfView outOfView;
  private final SpentGrants spent;
  private final FenceResponse fence;
  private final DeadlineKeeper deadlines;
  private final DomainLifecycle lifecycle;
  private final MigrationSource source;
  private final MigrationTarget target;
  private final Releases releases = new Releases();
  private final GrantLocks grantLocks;
  private final AgentStatus statusOf;
  private final SparePool spares;
  private final Map<String, DomainRecord> records = new HashMap<>(); // guarded by this
  private final ScheduledExecutorService passes = Executors.newSingleThreadScheduledExecutor(r -> thread(r, "pass"));
  private final ScheduledExecutorService heartbeats =
      Executors.newSingleThreadScheduledExecutor(r -> thread(r, "heartbeat"));
  private final AtomicBoolean passQueued = new AtomicBoolean();
  private boolean handOffInProgress; // pass thread only
  private volatile java.util.function.LongSupplier coveredUntil = () -> Long.MIN_VALUE;
  private volatile Runnable dropCoverage = () -> { };

  public NodeAgent(AgentConfig config, KubernetesClient client, NodePolicy policy, NodeHeartbeat heartbeat,
      AgentMetrics metrics) {
    this.config = config;
    this.heartbeat = heartbeat;
    this.metrics = metrics;
    this.node = config.nodeName();
    this.reporter = new StatusReporter(client, node);
    this.domainsDir = config.runDir().resolve("domains");
    this.view = new ClusterView(client, node, metrics::watchEvent);
    this.outOfView = new DomainsOutOfView(view, node, this::wake, System::nanoTime);
    this.spent = new SpentGrants(config.runDir());
    this.fence = new FenceResponse(node, heartbeat, view, spent, metrics);
    this.deadlines = new DeadlineKeeper(node, view, spent);
    DomainCgroups cgroups = DomainCgroups.of(config.cgroupRoot(), config.nodeName());
    this.spares = new SparePool(config.supervisorSpares(), config.runDir().resolve("spare-supervisors.log"),
        cgroups.supervisorHome(node, metrics::supervisorsOutsideAgentCgroup));
    SupervisorLauncher launcher = new SupervisorLauncher(config, deadlines, cgroups, spares);
    this.grantLocks = new GrantLocks(policy);
    Refusals refusals = new Refusals(node);
    this.source = new MigrationSource(node, heartbeat, fence, deadlines);
    this.target = new MigrationTarget(node, view, policy, heartbeat, fence, deadlines, launcher);
    this.lifecycle = new DomainLifecycle(node, policy, heartbeat, fence, spent, metrics, grantLocks, refusals,
        new HotPlug(node, grantLocks, refusals), launcher, source, target, config.lockdSocket() != null);
    this.statusOf = new AgentStatus(node);
  }

  /** Adopts what runs, starts watching, then renews and supervises. */
  public void start() throws IOException, InterruptedException, ExecutionException, TimeoutException {
    SupervisorLauncher.runDirectory(config.runDir());
    SupervisorLauncher.runDirectory(domainsDir);
    if (!config.unsafeDisable().isEmpty()) {
      log.error("event=unsafe-test-only node={} rules-off={} note=a negative control: never in production", node,
          config.unsafeDisable());
    }
    if (config.runAsUid() != null && config.runAsUid() == 0) {
      log.warn("event=domains-as-root node={} note=a domain running as root can rewrite its own deadline and read "
          + "this agent's credentials (docs/safety.md, SEC-4)", node);
    }
    synchronized (this) {
      Adoption.adoptRunning(domainsDir, node, records);
      records.values().stream().filter(r -> r.supervision != null)
          .forEach(r -> r.supervision.wantedLocks().forEach(grantLocks::remember));
    }
    view.start(this::wake);
    heartbeats.scheduleWithFixedDelay(this::heartbeat, 0, config.renewInterval().toMillis(), TimeUnit.MILLISECONDS);
    passes.scheduleWithFixedDelay(this::pass, 0, PASS_MILLIS, TimeUnit.MILLISECONDS);
    // Last: the spares' JVM starts (and the archive's) must not hold up a restarted agent's first renewal, which its
    // running domains wait for (MigrationIT's agent restart mid-hand-off was fenced when they came first).
    spares.fill();
  }

  /**
   * The promises of a majority extend the right of the running domains to {@code until} (docs/safety.md, TIME-4),
   * never one that already ran out.
   */
  public synchronized void extendOnPromises(long until) {
    if (heartbeat.fencedSince() != null) {
      return; // fenced: only a renewal that confirms the grants extends anything again
    }
    deadlines.extendRunning(records.values(), until, System.nanoTime());
  }

  /**
   * Where promises let the right run until, and what drops it: a fence mark drops it the moment a renewal shows one,
   * so that no answer still coming extends anything.
   */
  public void coverage(java.util.function.LongSupplier coveredUntil, Runnable dropCoverage) {
    this.coveredUntil = coveredUntil;
    this.dropCoverage = dropCoverage;
  }

  /** The agent's caches, for the lockd service (libvirt's calls are answered from what the agent watches). */
  public ClusterView view() {
    return view;
  }

  /** Null when the agent renews and watches, else why not: for /healthz. */
  public String notHealthy() {
    return view.watching() ? null : "not watching SupervisedDomains and DiskLeases";
  }

  private void wake() {
    if (passQueued.compareAndSet(false, true)) {
      passes.execute(this::pass);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Heartbeat: renew, answer a fence, extend confirmed deadlines.

  private void heartbeat() {
    try {
      long sent = System.nanoTime();
      if (!heartbeat.renewOnce()) {
        metrics.renewalFailed();
        return;
      }
      metrics.renewed(Duration.ofNanos(System.nanoTime() - sent));
      String mark = heartbeat.fencedSince();
      if (mark != null) {
        dropCoverage.run();
      }
      FreshLeases fresh = null;
      if (mark != null || anyDeadlinePassed()) {
        // A paused domain resumes, and a fence is answered, only on what the API server says now, not on the cache.
        fresh = view.freshLeases();
      }
      synchronized (this) {
        if (mark != null) {
          fence.onMark(mark, fresh, records.values());
        }
        deadlines.extend(records.values(), heartbeat.validUntil(), fresh == null ? null : fresh.items());
        if (mark == null) {
          // Promises that reach further keep their reach for the domains still running; a paused one resumes only
          // on the renewal above (no gap).
          deadlines.extendRunning(records.values(), coveredUntil.getAsLong(), System.nanoTime());
        }
      }
    } catch (RuntimeException e) {
      log.warn("event=heartbeat-failed node={} error=\"{}\" note=no deadline extended", node, e.getMessage());
    }
  }

  private synchronized boolean anyDeadlinePassed() {
    long now = System.nanoTime();
    return records.values().stream().anyMatch(r -> r.supervision != null && r.runDir.deadline() < now);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Pass: bring each domain's supervisor in line with its spec and grants, then report.

  private void pass() {
    passQueued.set(false);
    if (!view.synced()) {
      return;
    }
    List<Runnable> reports = new ArrayList<>();
    try {
      synchronized (this) {
        Set<String> seen = new HashSet<>();
        Set<String> heldHere = new HashSet<>();
        boolean inHandOff = false;
        for (SupervisedDomain domain : view.domains()) {
          inHandOff |= passOne(domain, seen, heldHere, reports);
        }
        inHandOff |= passOutOfView(seen, heldHere, reports);
        forgetDeleted(seen);
        // Every grant the DiskLeases list for this node, whichever domain was stepped: a record out of view with no
        // answer yet is not stepped, and what it holds must not be forgotten for that.
        Set<String> listedHere = listedForThisNode();
        grantLocks.retain(listedHere);
        if (fence.cacheTrusted()) {
          spent.forgetUnlisted(listedHere::contains); // a (lease, epoch) is never issued again once gone (ARB-2)
        }
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

  /** One domain's step and reports; true if this node takes part in its hand-off now. */
  private boolean passOne(SupervisedDomain domain, Set<String> seen, Set<String> heldHere, List<Runnable> reports) {
    String uid = domain.getMetadata().getUid();
    List<DiskLease> held = view.leasesHeldBy(uid);
    boolean placedHere = node.equals(DomainIntent.node(domain));
    MigrationStatus migration = DomainLifecycle.migrationOf(domain);
    boolean isTarget = migration != null && node.equals(migration.target);
    boolean inHandOff = migration != null && MigrationStatus.HANDING_OFF.equals(migration.phase)
        && (isTarget || node.equals(migration.source));
    DomainRecord record = records.get(uid);
    // An attached domain's supervisor follows its process: it runs wherever libvirt runs a QEMU of the domain (a
    // migration's incoming one too), holding the grants of this node only, so an acquire needs no supervisor start.
    boolean attachedHere = DomainIntent.attached(domain)
        && DomainLifecycle.attachedProcess(new RunDir(domainsDir.resolve(uid))) != null;
    if (!placedHere && record == null && held.isEmpty() && !isTarget && !attachedHere) {
      return inHandOff;
    }
    if (record == null) {
      record = new DomainRecord(uid, new RunDir(domainsDir.resolve(uid)));
      records.put(uid, record);
    }
    record.namespace = domain.getMetadata().getNamespace();
    record.name = domain.getMetadata().getName();
    seen.add(uid);
    boolean runsHere = DomainIntent.attached(domain) ? attachedHere : placedHere
        || target.takesOver(migration, DomainGrants.of(domain, node, true, held, spent.view()));
    DomainGrants grants = DomainGrants.of(domain, node, runsHere, held, spent.view());
    grants.held().forEach(g -> heldHere.add(g.key()));
    lifecycle.step(domain, record, grants, runsHere);
    DomainRecord r = record;
    if (migration != null && node.equals(migration.source) && record.outgoingReleasedAt != null) {
      // First: the operator moves the grants on this report, and the blackout lasts until it does.
      SupervisedDomainStatus outgoing = source.outgoingStatus(record);
      reports.add(() -> reporter.report(r.namespace, r.name, r.uid, outgoing, StatusReporter.OUTGOING_MANAGER));
    }
    if (placedHere) {
      var state = record.supervision == null ? null : record.supervision.state().orElse(null);
      List<ReleasedGrant> released = releases.released(record, state, grants);
      // Reported released, never used again (AGENT-9): the operator may hand it on before this node's cache says so.
      spent.addAll(released.stream().map(g -> g.leaseName + "," + g.epoch).toList());
      SupervisedDomainStatus status = statusOf.build(domain, record, grants, released);
      if (status.phase != null && domain.getStatus() != null && status.phase != domain.getStatus().phase) {
        // Our phase was overwritten (the operator says Starting after a move, which can land after our Running): say
        // it again, even though it is what we last sent.
        reporter.forget(uid, StatusReporter.FIELD_MANAGER);
      }
      reports.add(() -> reporter.report(r.namespace, r.name, r.uid, status));
    }
    if (isTarget) {
      SupervisedDomainStatus incoming = target.incomingStatus(record);
      reports.add(() -> reporter.report(r.namespace, r.name, r.uid, incoming, StatusReporter.INCOMING_MANAGER));
    }
    return inHandOff;
  }

  /**
   * The records whose domain this node's watches no longer show (moved to another node, or between two watched fields
   * for a moment): each is stepped on its latest fresh read, as the domain it is, and forgotten once nothing of it is
   * left here. One without an answer yet is kept as it is; one the API server says is gone is left to
   * {@link #forgetDeleted}.
   */
  private boolean passOutOfView(Set<String> seen, Set<String> heldHere, List<Runnable> reports) {
    boolean inHandOff = false;
    Set<String> inView = new HashSet<>(seen);
    for (DomainRecord record : List.copyOf(records.values())) {
      if (inView.contains(record.uid)) {
        continue;
      }
      if (record.namespace == null && DomainLifecycle.attachedProcess(record.runDir) != null) {
        seen.add(record.uid); // a QEMU of a domain this agent cannot name: left alone, never killed on a guess
        continue;
      }
      DomainsOutOfView.Read read = outOfView.last(record);
      if (read == null) {
        seen.add(record.uid);
      } else if (read.state() == DomainsOutOfView.State.PRESENT) {
        inHandOff |= passOne(read.domain(), seen, heldHere, reports);
        if (nothingLeftHere(record, read.domain())) {
          forget(record);
          seen.remove(record.uid);
        }
      }
    }
    Set<String> outOfViewUids = new HashSet<>(records.keySet());
    outOfViewUids.removeAll(inView);
    outOfView.retainOnly(outOfViewUids); // a record back in view starts afresh the next time it leaves
    return inHandOff;
  }

  /** {@code lease,epoch} of every holder on this node in the DiskLease cache. */
  private Set<String> listedForThisNode() {
    Set<String> listed = new HashSet<>();
    for (DiskLease lease : view.leases()) {
      if (lease.getStatus() != null) {
        lease.getStatus().holders.stream().filter(h -> node.equals(h.node))
            .forEach(h -> listed.add(lease.getMetadata().getName() + "," + h.epoch));
      }
    }
    return listed;
  }

  /**
   * A process libvirt registered for an attached domain here (lockd): its record, so that the pass starts its
   * supervisor on a fresh read, before the domain names this node.
   */
  public void attached(SupervisedDomain domain) {
    synchronized (this) {
      String uid = domain.getMetadata().getUid();
      DomainRecord record = records.computeIfAbsent(uid, u -> new DomainRecord(u, new RunDir(domainsDir.resolve(u))));
      record.namespace = domain.getMetadata().getNamespace();
      record.name = domain.getMetadata().getName();
    }
    wake();
  }

  /** Whether a domain that lives elsewhere has nothing here: no process, no grant, no drain owed. */
  private boolean nothingLeftHere(DomainRecord record, SupervisedDomain fresh) {
    boolean alive = record.supervision != null && record.supervision.alive();
    var remains = record.supervision != null ? record.supervision.remains() : record.remains;
    boolean holdsHere = view.leasesHeldBy(record.uid).stream().anyMatch(l -> l.getStatus().holders.stream()
        .anyMatch(h -> record.uid.equals(h.uid) && node.equals(h.node)));
    return !alive && !remains.alive() && record.drainOwed.isEmpty() && !holdsHere
        && DomainLifecycle.attachedProcess(record.runDir) == null && !ClusterView.namesNode(fresh, node);
  }

  /** Domains gone from the API server: kill what still runs, then forget them and their run directories. */
  private void forgetDeleted(Set<String> seen) {
    for (DomainRecord record : List.copyOf(records.values())) {
      if (seen.contains(record.uid)) {
        continue;
      }
      if (record.supervision != null && record.supervision.alive()) {
        if (!record.killSent) {
          log.warn("event=supervisor-killed domain={} node={} reason=domain-gone", record.key(), node);
          record.kill();
        }
        continue;
      }
      var remains = record.supervision != null ? record.supervision.remains() : record.remains;
      if (remains.alive()) {
        remains.kill();
        continue;
      }
      forget(record);
    }
  }

  /** Forgets a domain of which nothing runs here any more: its record, its run directory, what was reported. */
  private void forget(DomainRecord record) {
    var remains = record.supervision != null ? record.supervision.remains() : record.remains;
    remains.cleanUp();
    deleteRecursively(record.runDir.path());
    reporter.forget(record.uid);
    records.remove(record.uid);
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
    outOfView.close();
    view.close();
    spares.close();
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
