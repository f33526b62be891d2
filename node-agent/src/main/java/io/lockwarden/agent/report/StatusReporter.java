package io.lockwarden.agent.report;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the agent's part of a domain's status by server-side apply with field manager {@code lockwarden-agent}: the
 * operator's fields (node, leases, its conditions) have another manager and cannot be wiped. The agent always applies
 * its whole part, so a field it no longer sets (a pid after exit, a release the operator has processed) goes away.
 * Unchanged reports are not sent again.
 */
public final class StatusReporter {
  public static final String FIELD_MANAGER = "lockwarden-agent";
  private static final Logger log = LoggerFactory.getLogger(StatusReporter.class);

  private final KubernetesClient client;
  private final String node;
  private final Map<String, String> lastSent = new ConcurrentHashMap<>();

  public StatusReporter(KubernetesClient client, String node) {
    this.client = client;
    this.node = node;
  }

  /** Applies {@code status} to the domain unless it is what was last applied; false if the write failed. */
  public boolean report(String namespace, String name, String uid, SupervisedDomainStatus status) {
    String json = Serialization.asJson(status);
    if (json.equals(lastSent.get(uid))) {
      return true;
    }
    SupervisedDomain patch = new SupervisedDomain();
    // The uid makes the apply fail (409) instead of writing to a re-created domain of the same name.
    patch.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).withUid(uid).build());
    patch.setStatus(status);
    PatchContext context = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    context.setFieldManager(FIELD_MANAGER);
    context.setForce(true);
    try {
      client.resources(SupervisedDomain.class).inNamespace(namespace).withName(name).subresource("status")
          .patch(context, patch);
      lastSent.put(uid, json);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403) {
        // The node restriction: the domain is not (or no longer) on this node. Not retried until the report changes.
        lastSent.put(uid, json);
        log.info("event=status-report-refused domain={}/{} node={} note=the domain is not on this node", namespace,
            name, node);
        return false;
      }
      log.warn("event=status-report-failed domain={}/{} node={} code={} error=\"{}\"", namespace, name, node,
          e.getCode(), e.getMessage());
      return false;
    }
  }

  public void forget(String uid) {
    lastSent.remove(uid);
  }
}
