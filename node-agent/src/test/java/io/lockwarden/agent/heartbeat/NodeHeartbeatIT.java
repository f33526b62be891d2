package io.lockwarden.agent.heartbeat;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent's heartbeat against the real API server: extensions count from the send time, a fence costs one, and
 * nothing is renewed while the operator's published timing breaks TIME-2.
 */
@ExtendWith(ControlPlaneExtension.class)
class NodeHeartbeatIT {
  private static final Duration FENCE_TIMEOUT = Duration.ofSeconds(6);
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static KubernetesClient admin;
  private static String namespace;
  private static PublishedTiming timing;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = TestObjects.createNamespace(admin, "heartbeat");
    publish(namespace, "10s", "2s"); // the operator's defaults
    timing = new PublishedTiming(admin, namespace).start();
    Await.until("the agent sees the published timing", WAIT, () -> timing.get() != null);
  }

  @AfterAll
  static void close() {
    if (timing != null) {
      timing.close();
    }
  }

  /** What the operator's TimingPublisher writes. */
  private static void publish(String namespace, String nodeTimeout, String grace) {
    admin.resource(new ConfigMapBuilder().withNewMetadata().withName(TimingConfigMap.NAME).withNamespace(namespace)
        .endMetadata().withData(Map.of(TimingConfigMap.NODE_TIMEOUT, nodeTimeout, TimingConfigMap.GRACE, grace,
            TimingConfigMap.PUBLISHED_BY, "test")).build()).serverSideApply();
  }

  private static NodeHeartbeat heartbeat(String node, LongSupplier clock) {
    return new NodeHeartbeat(admin, namespace, node, FENCE_TIMEOUT, clock, timing, new AgentMetrics(node), false);
  }

  private static String gauge(AgentMetrics metrics) {
    return metrics.registry().scrape().lines().filter(l -> l.startsWith("lockwarden_timing_rule_broken{"))
        .findFirst().orElseThrow();
  }

  @Test
  void aRenewalMakesTheGrantsValidFromItsSendTime() {
    long[] now = {1_000_000_000L};
    NodeHeartbeat heartbeat = heartbeat(TestObjects.uniqueName("node"), () -> now[0]);
    assertThat(heartbeat.validUntil()).isEqualTo(Long.MIN_VALUE);

    assertThat(heartbeat.renewOnce()).isTrue();
    assertThat(heartbeat.validUntil()).isEqualTo(1_000_000_000L + FENCE_TIMEOUT.toNanos());

    now[0] += 2_000_000_000L;
    assertThat(heartbeat.renewOnce()).isTrue();
    assertThat(heartbeat.validUntil()).isEqualTo(3_000_000_000L + FENCE_TIMEOUT.toNanos());
  }

  @Test
  void anOperatorFenceBetweenRenewalsExtendsNothingAndIsReported() {
    String node = TestObjects.uniqueName("node");
    long[] now = {5_000_000_000L};
    NodeHeartbeat heartbeat = heartbeat(node, () -> now[0]);
    assertThat(heartbeat.renewOnce()).isTrue();
    long before = heartbeat.validUntil();

    // What the operator's confirmDead does: an update carrying the resourceVersion it read.
    Lease lease = admin.leases().inNamespace(namespace).withName(NodeLeases.name(node)).get();
    lease.getMetadata().setAnnotations(new HashMap<>());
    lease.getMetadata().getAnnotations().put(NodeLeases.FENCED_ANNOTATION, "2026-11-25T00:00:00Z");
    admin.resource(lease).update();

    now[0] += 2_000_000_000L;
    assertThat(heartbeat.renewOnce()).as("the renewal raced the fence and lost").isFalse();
    assertThat(heartbeat.validUntil()).isEqualTo(before);

    now[0] += 2_000_000_000L;
    assertThat(heartbeat.renewOnce()).isTrue();
    assertThat(heartbeat.validUntil()).isEqualTo(now[0] + FENCE_TIMEOUT.toNanos());
    assertThat(heartbeat.fencedSince()).isEqualTo("2026-11-25T00:00:00Z");
  }

  @Test
  void aPublishedTimingThatBreaksTime2StopsRenewalsUntilItIsFixed() {
    String ns = TestObjects.createNamespace(admin, "timing");
    String node = TestObjects.uniqueName("node");
    long[] now = {1_000_000_000L};
    AgentMetrics metrics = new AgentMetrics(node);
    try (PublishedTiming published = new PublishedTiming(admin, ns).start()) {
      NodeHeartbeat heartbeat = new NodeHeartbeat(admin, ns, node, FENCE_TIMEOUT, () -> now[0], published, metrics,
          false);
      // Nothing published yet: an agent that started before the operator waits.
      assertThat(heartbeat.renewOnce()).isFalse();
      assertThat(gauge(metrics)).endsWith(" 1.0");
      assertThat(lease(ns, node)).as("not even created").isNull();
      assertThat(heartbeat.validUntil()).isEqualTo(Long.MIN_VALUE);

      publish(ns, "10s", "2s");
      Await.until("renewals start once the operator published", WAIT, heartbeat::renewOnce);
      assertThat(heartbeat.validUntil()).isEqualTo(now[0] + FENCE_TIMEOUT.toNanos());
      assertThat(gauge(metrics)).endsWith(" 0.0");
      long proven = heartbeat.validUntil();
      String renewed = lease(ns, node).getMetadata().getResourceVersion();

      // The negative control's timing: a node would be declared dead after 2 s, long before its 6 s deadline.
      publish(ns, "2s", "0s");
      Await.until("the broken timing seen", WAIT, () -> "2s".equals(timingOf(published)));
      now[0] += 2_000_000_000L;
      assertThat(heartbeat.renewOnce()).isFalse();
      assertThat(heartbeat.validUntil()).as("no deadline extended").isEqualTo(proven);
      assertThat(lease(ns, node).getMetadata().getResourceVersion()).as("the Lease not renewed").isEqualTo(renewed);
      assertThat(gauge(metrics)).endsWith(" 1.0");

      // The negative control's test-only switch renews anyway (and says so in the log and the gauge).
      String other = TestObjects.uniqueName("node");
      AgentMetrics otherMetrics = new AgentMetrics(other);
      NodeHeartbeat unsafe = new NodeHeartbeat(admin, ns, other, FENCE_TIMEOUT, () -> now[0], published, otherMetrics,
          true);
      assertThat(unsafe.renewOnce()).isTrue();
      assertThat(lease(ns, other)).isNotNull();
      assertThat(gauge(otherMetrics)).endsWith(" 1.0");

      // Unreadable is as bad as broken.
      publish(ns, "10 seconds", "2s");
      Await.until("the unreadable timing seen", WAIT, () -> "10 seconds".equals(timingOf(published)));
      now[0] += 2_000_000_000L;
      assertThat(heartbeat.renewOnce()).isFalse();
      assertThat(lease(ns, node).getMetadata().getResourceVersion()).isEqualTo(renewed);

      publish(ns, "10s", "2s");
      Await.until("the fixed timing seen", WAIT, () -> "10s".equals(timingOf(published)));
      now[0] += 2_000_000_000L;
      assertThat(heartbeat.renewOnce()).isTrue();
      assertThat(heartbeat.validUntil()).isEqualTo(now[0] + FENCE_TIMEOUT.toNanos());
      assertThat(lease(ns, node).getMetadata().getResourceVersion()).isNotEqualTo(renewed);
      assertThat(gauge(metrics)).endsWith(" 0.0");

      admin.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).delete();
      Await.until("the deletion seen", WAIT, () -> published.get() == null);
      assertThat(heartbeat.renewOnce()).as("a deleted timing is a missing one").isFalse();
      assertThat(gauge(metrics)).endsWith(" 1.0");
    }
  }

  private static Lease lease(String ns, String node) {
    return admin.leases().inNamespace(ns).withName(NodeLeases.name(node)).get();
  }

  private static String timingOf(PublishedTiming published) {
    Map<String, String> data = published.get();
    return data == null ? null : Objects.toString(data.get(TimingConfigMap.NODE_TIMEOUT));
  }
}
