package io.lockwarden.testing;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import java.time.ZonedDateTime;
import java.util.HashMap;
import java.util.Map;

/**
 * A node Lease renewal as the agent sends it (docs/safety.md, TIME-4): a new renewTime, the newest round of {@code
 * lockwarden-timing}, read just before sending (that order is what makes it an acknowledgement), and the node's peer
 * address. For tests standing in for agents.
 */
public final class AgentRenewals {
  private AgentRenewals() {}

  /** Renews by server-side apply; no round annotation while the ConfigMap has none. */
  public static void renew(KubernetesClient client, String namespace, String node) {
    ConfigMap timing = client.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).get();
    String round = timing == null || timing.getData() == null ? null : timing.getData().get(TimingConfigMap.ROUND);
    Map<String, String> annotations = new HashMap<>();
    if (round != null) {
      annotations.put(NodeLeases.ROUND_ANNOTATION,
          new NodeLeases.Acknowledgement(timing.getMetadata().getUid(), Long.parseLong(round)).format());
    }
    annotations.put(NodeLeases.PEER_ANNOTATION, "10.0.0.1:7475");
    Lease lease = new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(NodeLeases.name(node)).withNamespace(namespace)
            .withAnnotations(annotations).build())
        .withNewSpec().withHolderIdentity(node).withLeaseDurationSeconds(10).withRenewTime(ZonedDateTime.now())
        .endSpec().build();
    client.resource(lease).serverSideApply();
  }
}
