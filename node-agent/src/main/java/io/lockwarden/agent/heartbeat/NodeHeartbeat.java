package io.lockwarden.agent.heartbeat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.api.Durations;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's side of the heartbeat (docs/safety.md, TIME-2): renews the node's Lease with an update carrying the
 * resourceVersion it last wrote, and after each success makes the node's right to its grants valid until the moment
 * the renewal was <em>sent</em> plus {@code fenceTimeout}, on this host's monotonic clock.
 *
 * <p>A renewal that fails extends nothing. A 409 means someone else wrote the Lease, normally the operator fencing the
 * node: the next renewal starts from the fresh version, and {@link #fencedSince} tells the agent it must re-confirm its
 * domains' grants before it extends their deadlines again.
 *
 * <p>Before each renewal it checks TIME-2 against the timing the operator published ({@link TimingRule}): while the
 * rule is broken, or the timing missing or unreadable, it does not renew at all. Every renewal goes through here, so
 * no deadline is extended then, and the node's domains are paused as for any lost lease; the operator declares the
 * node dead in time as usual. One log line when refusing starts and one when it stops; the gauge
 * {@code lockwarden_timing_rule_broken} says it meanwhile.
 */
public final class NodeHeartbeat {
  private static final Logger log = LoggerFactory.getLogger(NodeHeartbeat.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String node;
  private final Duration fenceTimeout;
  private final LongSupplier clock;
  private final Supplier<Map<String, String>> publishedTiming;
  private final AgentMetrics metrics;
  private final boolean unsafeSkipTimingRule;
  private TimingRule.Reason timing;
  private Lease current;
  private volatile long validUntil = Long.MIN_VALUE;
  private volatile String fencedAt;
  private volatile String clearFence;
  private volatile boolean timingHolds;
  private volatile Supplier<Map<String, String>> acknowledgement = Map::of;

  /**
   * @param publishedTiming the data of the operator's ConfigMap {@code lockwarden-timing}, null while there is none
   * @param unsafeSkipTimingRule renew even while the rule is broken: only for the chaos suite's negative control,
   *     which breaks TIME-2 on purpose to show the checker finds two writers
   */
  public NodeHeartbeat(KubernetesClient client, String namespace, String node, Duration fenceTimeout,
      LongSupplier clock, Supplier<Map<String, String>> publishedTiming, AgentMetrics metrics,
      boolean unsafeSkipTimingRule) {
    this.client = client;
    this.namespace = namespace;
    this.node = node;
    this.fenceTimeout = fenceTimeout;
    this.clock = clock;
    this.publishedTiming = publishedTiming;
    this.metrics = metrics;
    this.unsafeSkipTimingRule = unsafeSkipTimingRule;
  }

  /** The monotonic time until which the node's grants are proven, or Long.MIN_VALUE before the first renewal. */
  public long validUntil() {
    return validUntil;
  }

  /**
   * Annotations each renewal carries for the quorum (docs/safety.md, TIME-4): the round it acknowledges and the peer
   * address, read at the moment of sending; a null value removes the annotation.
   */
  public void acknowledge(Supplier<Map<String, String>> annotations) {
    this.acknowledgement = annotations;
  }

  /** Whether TIME-2 held against the published timing at the last attempt (nothing is extended otherwise). */
  public boolean timingRuleHolds() {
    return timingHolds;
  }

  /** The operator's fence mark on the node's Lease, if the last renewal found one, else null. */
  public String fencedSince() {
    return fencedAt;
  }

  /**
   * Asks the next renewal to remove the operator's fence mark {@code fencedAt}, once the agent has killed everything
   * that ran on the fenced grants and none of them is left on a DiskLease.
   */
  public void clearFence(String fencedAt) {
    clearFence = fencedAt;
  }

  /**
   * One renewal; returns whether it succeeded. False without a request while the timing rule does not hold. Not
   * thread-safe: one heartbeat thread calls it.
   */
  public synchronized boolean renewOnce() {
    if (!timingAllowsRenewal()) {
      return false;
    }
    long sent = clock.getAsLong();
    try {
      Lease desired = current == null ? fresh() : Serialization.clone(current);
      desired.getSpec().setHolderIdentity(node);
      desired.getSpec().setLeaseDurationSeconds((int) Math.max(1, fenceTimeout.toSeconds()));
      desired.getSpec().setRenewTime(ZonedDateTime.now());
      Map<String, String> marks = desired.getMetadata().getAnnotations();
      if (marks == null) {
        marks = new java.util.HashMap<>();
        desired.getMetadata().setAnnotations(marks);
      }
      if (clearFence != null && clearFence.equals(marks.get(NodeLeases.FENCED_ANNOTATION))) {
        marks.remove(NodeLeases.FENCED_ANNOTATION);
      }
      for (Map.Entry<String, String> mark : acknowledgement.get().entrySet()) {
        if (mark.getValue() == null) {
          marks.remove(mark.getKey());
        } else {
          marks.put(mark.getKey(), mark.getValue());
        }
      }
      current = desired.getMetadata().getResourceVersion() == null ? client.resource(desired).create()
          : client.resource(desired).update(); // PUT with the resourceVersion: a fence in between makes it fail
      Map<String, String> annotations = current.getMetadata().getAnnotations();
      String fence = annotations == null ? null : annotations.get(NodeLeases.FENCED_ANNOTATION);
      if (fence != null && !fence.equals(fencedAt)) {
        log.warn("event=node-fenced-by-operator node={} fencedAt={} note=grants must be confirmed again", node, fence);
      }
      if (fence == null && fencedAt != null) {
        log.info("event=fence-cleared node={} fencedAt={}", node, fencedAt);
      }
      fencedAt = fence;
      validUntil = sent + fenceTimeout.toNanos();
      return true;
    } catch (KubernetesClientException e) {
      log.warn("event=renewal-failed node={} code={} note=no extension; next renewal starts from a fresh read",
          node, e.getCode());
      current = null;
      return false;
    }
  }

  /** TIME-2 against the published timing; logs when the verdict changes. */
  private boolean timingAllowsRenewal() {
    TimingRule.Verdict verdict = TimingRule.check(fenceTimeout, publishedTiming.get());
    metrics.timingRuleBroken(!verdict.holds());
    TimingRule.Reason was = timing;
    timing = verdict.reason();
    if (verdict.reason() != was) {
      String fields = "node=" + node + " fenceTimeout=" + Durations.format(fenceTimeout) + " checkInterval="
          + Durations.format(TimingRule.CHECK_INTERVAL) + " nodeTimeout=" + format(verdict.nodeTimeout()) + " grace="
          + format(verdict.grace()) + " publishedBy=" + verdict.publishedBy();
      String detail = verdict.detail() == null ? "" : " detail=\"" + verdict.detail() + "\"";
      if (verdict.holds()) {
        if (was == null) {
          log.info("event=timing-rule-holds {}", fields);
        } else {
          log.info("event=renewal-resumed {} note=the published timing keeps TIME-2 again", fields);
        }
      } else if (unsafeSkipTimingRule) {
        log.error("event=renewal-refusal-skipped reason={} {}{} note=UNSAFE test-only switch "
            + "LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE: renewing although TIME-2 is not shown to hold", verdict.reason(),
            fields, detail);
      } else {
        log.warn("event=renewal-refused reason={} {}{} note=no renewal until fenceTimeout + checkInterval < "
            + "nodeTimeout + grace as the operator published it in ConfigMap {}/{} (docs/safety.md TIME-2); "
            + "deadlines run out and domains pause as for a lost lease", verdict.reason(), fields, detail, namespace,
            TimingConfigMap.NAME);
      }
    }
    timingHolds = verdict.holds() || unsafeSkipTimingRule;
    return timingHolds;
  }

  private static String format(Duration duration) {
    return duration == null ? "-" : Durations.format(duration);
  }

  private Lease fresh() {
    Lease existing = client.leases().inNamespace(namespace).withName(NodeLeases.name(node)).get();
    if (existing != null) {
      return existing;
    }
    return new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(NodeLeases.name(node)).withNamespace(namespace).build())
        .withNewSpec().endSpec()
        .build();
  }
}
