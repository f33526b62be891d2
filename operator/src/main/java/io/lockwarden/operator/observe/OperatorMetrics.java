package io.lockwarden.operator.observe;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/** The operator's own Prometheus metrics; JOSDK adds its reconcile metrics to the same registry. */
public final class OperatorMetrics {
  private final MeterRegistry registry;
  private final Timer grantLatency;
  private final Counter nodeFenced;
  private final Counter splitBrain;
  private final Timer handoff;
  private final Map<String, AtomicInteger> waitingByLease = new ConcurrentHashMap<>();
  private final AtomicInteger fencingSuspended = new AtomicInteger();
  private final AtomicInteger quorumMembers = new AtomicInteger();
  private final AtomicInteger quorumAcknowledging = new AtomicInteger();

  public OperatorMetrics(MeterRegistry registry, Supplier<Number> nodesAlive) {
    this.registry = registry;
    this.grantLatency = Timer.builder("lockwarden.grant.latency")
        .description("From the request first seen by this operator to the grant persisted")
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(10))
        .register(registry);
    this.nodeFenced = Counter.builder("lockwarden.node.fenced").description("Nodes declared dead").register(registry);
    this.splitBrain = Counter.builder("lockwarden.split.brain.detected")
        .description("DiskLease versions seen with incompatible holders or a falling epoch; must stay 0")
        .register(registry);
    Gauge.builder("lockwarden.nodes.alive", nodesAlive).description("Nodes renewing their Lease").register(registry);
    // The quorum (docs/safety.md, TIME-4): set by the deciding operator only; 0 on a standby.
    Gauge.builder("lockwarden.fencing.suspended", fencingSuspended, AtomicInteger::get)
        .description("1 while a node is silent but nobody is fenced, for want of a majority acknowledging rounds")
        .register(registry);
    Gauge.builder("lockwarden.quorum.members", quorumMembers, AtomicInteger::get)
        .description("Nodes in the published member set").register(registry);
    Gauge.builder("lockwarden.quorum.acknowledging", quorumAcknowledging, AtomicInteger::get)
        .description("Members whose latest renewal acknowledges a round written within the window").register(registry);
    for (AccessMode mode : AccessMode.values()) {
      grants(mode);
    }
    conflicts("WriteConflict");
    for (String controller : new String[] {"disklease", "superviseddomain"}) {
      reconcileErrors(controller);
    }
    for (String result : new String[] {"completed", "cancelled", "failed"}) {
      migrations(result);
    }
    this.handoff = Timer.builder("lockwarden.handoff")
        .description("Migration blackout: from the source's release to the target running with every lock")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofMinutes(1)).register(registry);
  }

  /** A migration ended: completed (with its hand-off time, if known), cancelled or failed. */
  public void migration(String result, Long handoffMillis) {
    migrations(result).increment();
    if (handoffMillis != null) {
      handoff.record(Duration.ofMillis(handoffMillis));
    }
  }

  /**
   * A hand-off made of a release on one node and a grant on another, as libvirt's live migration makes it (the source
   * releases at the switch-over, the target acquires before its CPUs run): from the release to the grant.
   */
  public void releaseThenGrant(Duration gap) {
    handoff.record(gap);
  }

  private Counter migrations(String result) {
    return Counter.builder("lockwarden.migrations").description("Migrations that ended, by result")
        .tag("result", result).register(registry);
  }

  public void granted(AccessMode mode, Duration sinceRequest) {
    grants(mode).increment();
    grantLatency.record(sinceRequest);
  }

  /** A request that could not be granted at once, or a decision that lost a write race. */
  public void conflict(String reason) {
    conflicts(reason).increment();
  }

  /** What the deciding operator sees of its quorum now. */
  public void quorum(int members, int acknowledging, boolean suspended) {
    quorumMembers.set(members);
    quorumAcknowledging.set(acknowledging);
    fencingSuspended.set(suspended ? 1 : 0);
  }

  public void nodeFenced() {
    nodeFenced.increment();
  }

  public void splitBrainDetected() {
    splitBrain.increment();
  }

  public void reconcileError(String controller) {
    reconcileErrors(controller).increment();
  }

  /** One series per lease that has waiters, gone again once nobody waits. */
  public void waiting(String lease, int count) {
    if (count == 0) {
      AtomicInteger gone = waitingByLease.remove(lease);
      if (gone != null) {
        registry.find("lockwarden.lease.waiting").tag("lease", lease).gauges().forEach(registry::remove);
      }
      return;
    }
    waitingByLease.computeIfAbsent(lease, l -> {
      AtomicInteger value = new AtomicInteger();
      Gauge.builder("lockwarden.lease.waiting", value, AtomicInteger::get).tag("lease", l)
          .description("Domains waiting for this lease").register(registry);
      return value;
    }).set(count);
  }

  private Counter grants(AccessMode mode) {
    return Counter.builder("lockwarden.grants").description("Grants written, by mode").tag("mode", mode.name())
        .register(registry);
  }

  private Counter conflicts(String reason) {
    return Counter.builder("lockwarden.conflicts")
        .description("Requests not granted at once, and decisions that lost a write race, by reason")
        .tag("reason", reason).register(registry);
  }

  private Counter reconcileErrors(String controller) {
    return Counter.builder("lockwarden.reconcile.errors").description("Reconciliations that ended in an error")
        .tag("controller", controller).register(registry);
  }
}
