package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** confirmDead against the real API server: what the operator's clock says is checked before anything is revoked. */
@ExtendWith(ControlPlaneExtension.class)
class NodeLivenessIT {
  @Test
  void aRenewalTheWatchHadNotDeliveredRefutesADeathAndOtherwiseTheNodeIsFenced(ControlPlane controlPlane) {
    KubernetesClient admin = controlPlane.admin();
    String namespace = TestObjects.createNamespace(admin, "liveness");
    String node = TestObjects.uniqueName("node");
    renew(admin, namespace, node);
    NodeLiveness liveness = new NodeLiveness(admin, namespace, Duration.ofSeconds(10), Duration.ofSeconds(2));
    liveness.start();
    Await.until("the watch is up", Duration.ofSeconds(30), liveness::isWatching);
    renew(admin, namespace, node);
    Await.until(node + " seen renewing", Duration.ofSeconds(30), () -> liveness.isAlive(node));

    // The operator stops seeing renewals (a paused operator, a late watch) while the node goes on renewing.
    liveness.close();
    renew(admin, namespace, node);

    assertThat(liveness.confirmDead(node)).as("a renewal it had not seen: alive").isFalse();
    assertThat(annotations(admin, namespace, node)).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);

    // No renewal since the last one it now knows of: the node is fenced, with a mark on its Lease.
    assertThat(liveness.confirmDead(node)).isTrue();
    assertThat(annotations(admin, namespace, node)).containsKey(NodeLeases.FENCED_ANNOTATION);
  }

  private static void renew(KubernetesClient admin, String namespace, String node) {
    Lease lease = new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(NodeLeases.name(node)).withNamespace(namespace).build())
        .withNewSpec().withHolderIdentity(node).withRenewTime(ZonedDateTime.now()).endSpec().build();
    admin.resource(lease).serverSideApply();
  }

  private static Map<String, String> annotations(KubernetesClient admin, String namespace, String node) {
    Lease lease = admin.leases().inNamespace(namespace).withName(NodeLeases.name(node)).get();
    return lease.getMetadata().getAnnotations() == null ? Map.of() : lease.getMetadata().getAnnotations();
  }
}
