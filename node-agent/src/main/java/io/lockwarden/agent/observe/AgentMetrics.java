package io.lockwarden.agent.observe;

import io.lockwarden.agent.cluster.WatchEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/** The agent's metrics (docs/metrics.md), registered up front so every series exists from the first scrape. */
public final class AgentMetrics {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final AtomicInteger supervisorsRunning = new AtomicInteger();
  private final AtomicInteger timingRuleBroken = new AtomicInteger();
  private final AtomicInteger onPromises = new AtomicInteger();
  private final AtomicInteger supervisorsOutsideAgentCgroup = new AtomicInteger();
  private final Counter localLockConflicts;
  private final Timer renewals;
  private final Counter renewalFailures;

  public AgentMetrics(String node) {
    registry.config().commonTags("node", node);
    Gauge.builder("lockwarden.supervisors.running", supervisorsRunning, AtomicInteger::get)
        .description("Supervisor processes alive on this node").register(registry);
    for (String action : new String[] {"pause", "kill", "resume"}) {
      fenceActions(action);
    }
    localLockConflicts = Counter.builder("lockwarden.local.lock.conflicts")
        .description("Starts held back because someone outside lockwarden holds byte 0 of a disk").register(registry);
    renewals = Timer.builder("lockwarden.heartbeat.renew").description("Round trip of successful node Lease renewals")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(10))
        .register(registry);
    Gauge.builder("lockwarden.timing.rule.broken", timingRuleBroken, AtomicInteger::get)
        .description("1 while TIME-2 does not hold against the timing the operator published, or that timing is "
            + "missing or unreadable: the agent renews nothing then; else 0")
        .register(registry);
    Gauge.builder("lockwarden.quorum.on.promises", onPromises, AtomicInteger::get)
        .description("1 while the node's domains run on promises from a majority of nodes, not on a renewal "
            + "(docs/safety.md, TIME-4); else 0")
        .register(registry);
    Gauge.builder("lockwarden.supervisors.outside.agent.cgroup", supervisorsOutsideAgentCgroup, AtomicInteger::get)
        .description("1 while the supervisor started last lives in a cgroup outside the agent's own, so that stopping "
            + "the agent's container leaves the supervisors and their domains running; 0 while they share it")
        .register(registry);
    promiseAsk(true, false);
    promiseAsk(false, false);
    for (WatchEvents.Kind kind : WatchEvents.Kind.values()) {
      watchEvents(kind);
    }
    renewalFailures = Counter.builder("lockwarden.heartbeat.failures").description("Node Lease renewals that failed")
        .register(registry);
  }

  /** One event a watch delivered: how an agent's traffic grows with the cluster (issue #16). */
  public void watchEvent(WatchEvents.Kind kind) {
    watchEvents(kind).increment();
  }

  private Counter watchEvents(WatchEvents.Kind kind) {
    return Counter.builder("lockwarden.agent.watch.events")
        .description("Adds, updates and deletes the agent's watches delivered, by kind: domains are watched by node, "
            + "DiskLeases all")
        .tag("kind", kind.name()).register(registry);
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public void supervisorsOutsideAgentCgroup(int outside) {
    supervisorsOutsideAgentCgroup.set(outside);
  }

  public void supervisorsRunning(int count) {
    supervisorsRunning.set(count);
  }

  /** pause, kill or resume: what a supervisor did to its domain because of the lease. */
  public void fenceAction(String action) {
    fenceActions(action).increment();
  }

  private Counter fenceActions(String action) {
    return Counter.builder("lockwarden.fence.actions")
        .description("What supervisors did to their domains because of the lease, by action").tag("action", action)
        .register(registry);
  }

  public void localLockConflict() {
    localLockConflicts.increment();
  }

  public void renewed(Duration took) {
    renewals.record(took);
  }

  /** Whether TIME-2 failed to hold at the last renewal attempt (docs/safety.md). */
  public void timingRuleBroken(boolean broken) {
    timingRuleBroken.set(broken ? 1 : 0);
  }

  /** An ask for promises: whether a majority granted and the right was extended. */
  public void promiseAsk(boolean extended) {
    promiseAsk(extended, true);
  }

  private void promiseAsk(boolean extended, boolean count) {
    Counter counter = Counter.builder("lockwarden.quorum.asks")
        .description("Asks for promises made to the peers while a renewal was overdue, by outcome")
        .tag("outcome", extended ? "extended" : "short").register(registry);
    if (count) {
      counter.increment();
    }
  }

  public void onPromises(boolean on) {
    onPromises.set(on ? 1 : 0);
  }

  public void renewalFailed() {
    renewalFailures.increment();
  }
}
