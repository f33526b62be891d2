package io.lockwarden.agent.heartbeat;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.HashMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The agent's heartbeat against the real API server: extensions count from the send time, a fence costs one. */
@ExtendWith(ControlPlaneExtension.class)
class NodeHeartbeatIT {
  private static final Duration FENCE_TIMEOUT = Duration.ofSeconds(6);
  private static KubernetesClient admin;
  private static String namespace;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = TestObjects.createNamespace(admin, "heartbeat");
  }

  @Test
  void aRenewalMakesTheGrantsValidFromItsSendTime() {
    long[] now = {1_000_000_000L};
    NodeHeartbeat heartbeat = new NodeHeartbeat(admin, namespace, TestObjects.uniqueName("node"), FENCE_TIMEOUT,
        () -> now[0]);
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
    NodeHeartbeat heartbeat = new NodeHeartbeat(admin, namespace, node, FENCE_TIMEOUT, () -> now[0]);
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
}
