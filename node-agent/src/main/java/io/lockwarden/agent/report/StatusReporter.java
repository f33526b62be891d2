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
  /** The migration target's agent: status.migration.incoming only. */
  public static final String INCOMING_MANAGER = "lockwarden-agent-incoming";
  /** The migration source's agent: status.migration.outgoing only. */
  public static final String OUTGOING_MANAGER = "lockwarden-agent-outgoing";
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
    return report(namespace, name, uid, status, FIELD_MANAGER);
  }

  /** The same, under another field manager: each writer of a part of the status has its own. */
  public boolean report(String namespace, String name, String uid, SupervisedDomainStatus status, String manager) {
    String json = Serialization.asJson(status);
    String key = uid + "/" + manager;
    if (json.equals(lastSent.get(key))) {
      return true;
    }
    SupervisedDomain patch = new SupervisedDomain();
    // The uid makes the apply fail (409) instead of writing to a re-created domain of the same name.
    patch.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).withUid(uid).build());
    patch.setStatus(status);
    PatchContext context = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    context.setFieldManager(manager);
    context.setForce(true);
    try {
      client.resources(SupervisedDomain.class).inNamespace(namespace).withName(name).subresource("status")
          .patch(context, patch);
      lastSent.put(key, json);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403) {
        // The node restriction: the domain is not (or no longer) on this node. Not retried until the report changes.
        lastSent.put(key, json);
        log.info("event=status-report-refused domain={}/{} node={} note=the domain is not on this node", namespace,
            name, node);
        return false;
      }
      log.warn("event=status-report-failed domain={}/{} node={} code={} error=\"{}\"", namespace, name, node,
          e.getCode(), e.getMessage());
      return false;
    }
  }

  /** Sends the next report of this manager even if it is unchanged. */
  public void forget(String uid, String manager) {
    lastSent.remove(uid + "/" + manager);
  }

  public void forget(String uid) {
    lastSent.keySet().removeIf(k -> k.startsWith(uid + "/"));
  }
}
