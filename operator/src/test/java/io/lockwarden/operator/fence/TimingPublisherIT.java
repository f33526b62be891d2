package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What the agents check TIME-2 against: the deciding operator's timing, put back whenever it differs. */
@ExtendWith(ControlPlaneExtension.class)
class TimingPublisherIT {
  @Test
  void publishesItsTimingAndPutsItBackWhenItDiffers(ControlPlane controlPlane) {
    KubernetesClient admin = controlPlane.admin();
    String namespace = TestObjects.createNamespace(admin, "timing");
    TimingPublisher first = new TimingPublisher(admin, namespace, Duration.ofSeconds(10), Duration.ofSeconds(2),
        "operator-0");

    assertThat(first.publish()).as("created").isTrue();
    assertThat(data(admin, namespace)).isEqualTo(Map.of("nodeTimeout", "10s", "grace", "2s", "publishedBy",
        "operator-0"));
    assertThat(first.publish()).as("nothing differs: no write").isFalse();

    // A new leader with the same timing takes the ConfigMap over once, then leaves publishedBy alone: replicas
    // without leader election do not take turns at it.
    TimingPublisher second = new TimingPublisher(admin, namespace, Duration.ofSeconds(10), Duration.ofSeconds(2),
        "operator-1");
    assertThat(second.publish()).isTrue();
    assertThat(data(admin, namespace)).containsEntry("publishedBy", "operator-1");
    assertThat(first.publish()).isFalse();
    assertThat(data(admin, namespace)).containsEntry("publishedBy", "operator-1");

    // Edited by hand, or by a replica with another timing: put back, and only its own keys: the round and the member
    // sets QuorumRounds keeps there stay.
    admin.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME)
        .edit(c -> {
          c.getData().put("grace", "0s");
          c.getData().put(TimingConfigMap.ROUND, "7");
          c.getData().put(TimingConfigMap.MEMBERS_SINCE, "3");
          return c;
        });
    assertThat(first.publish()).isTrue();
    assertThat(data(admin, namespace)).containsEntry("grace", "2s").containsEntry(TimingConfigMap.ROUND, "7")
        .containsEntry(TimingConfigMap.MEMBERS_SINCE, "3");

    // Deleted: made again, or every agent would stop renewing.
    admin.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).delete();
    assertThat(first.publish()).isTrue();
    assertThat(data(admin, namespace)).containsEntry("nodeTimeout", "10s");
  }

  private static Map<String, String> data(KubernetesClient admin, String namespace) {
    ConfigMap map = admin.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).get();
    return map == null ? null : map.getData();
  }
}
