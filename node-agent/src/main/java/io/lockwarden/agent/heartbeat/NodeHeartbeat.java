package io.lockwarden.agent.heartbeat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.NodeLeases;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.function.LongSupplier;
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
 */
public final class NodeHeartbeat {
  private static final Logger log = LoggerFactory.getLogger(NodeHeartbeat.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String node;
  private final Duration fenceTimeout;
  private final LongSupplier clock;
  private Lease current;
  private volatile long validUntil = Long.MIN_VALUE;
  private volatile String fencedAt;
  private volatile String clearFence;

  public NodeHeartbeat(KubernetesClient client, String namespace, String node, Duration fenceTimeout,
      LongSupplier clock) {
    this.client = client;
    this.namespace = namespace;
    this.node = node;
    this.fenceTimeout = fenceTimeout;
    this.clock = clock;
  }

  /** The monotonic time until which the node's grants are proven, or Long.MIN_VALUE before the first renewal. */
  public long validUntil() {
    return validUntil;
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

  /** One renewal; returns whether it succeeded. Not thread-safe: one heartbeat thread calls it. */
  public synchronized boolean renewOnce() {
    long sent = clock.getAsLong();
    try {
      Lease desired = current == null ? fresh() : Serialization.clone(current);
      desired.getSpec().setHolderIdentity(node);
      desired.getSpec().setLeaseDurationSeconds((int) Math.max(1, fenceTimeout.toSeconds()));
      desired.getSpec().setRenewTime(ZonedDateTime.now());
      Map<String, String> marks = desired.getMetadata().getAnnotations();
      if (marks != null && clearFence != null && clearFence.equals(marks.get(NodeLeases.FENCED_ANNOTATION))) {
        marks.remove(NodeLeases.FENCED_ANNOTATION);
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
