package io.lockwarden.operator.it;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.operator.domain.DomainDisks;
import io.lockwarden.testing.AgentRenewals;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Test code standing in for a node agent, until the real one exists: it renews the node's Lease, and reports as
 * released every grant on its node that the domain no longer wants (stopped, deleted, disk unplugged), the way the
 * agent does once the process and its local lock are gone. Stop it to simulate the node dying.
 */
public final class SimulatedAgent implements AutoCloseable {
  public static final String FIELD_MANAGER = "lockwarden-agent";

  private final KubernetesClient client;
  private final String namespace;
  private final String node;
  private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();

  private SimulatedAgent(KubernetesClient client, String namespace, String node) {
    this.client = client;
    this.namespace = namespace;
    this.node = node;
  }

  /** Renews every 300 ms, so tests can use short node timeouts, and reports releases. */
  public static SimulatedAgent start(KubernetesClient client, String namespace, String node) {
    SimulatedAgent agent = new SimulatedAgent(client, namespace, node);
    agent.loop.scheduleWithFixedDelay(agent::renew, 0, 300, TimeUnit.MILLISECONDS);
    agent.loop.scheduleWithFixedDelay(agent::reportReleases, 100, 100, TimeUnit.MILLISECONDS);
    return agent;
  }

  /**
   * Only renews the node Lease, every 2 s like the real agent's default: for benchmarks, where nothing is released and
   * a full scan would be in the way.
   */
  public static SimulatedAgent heartbeatOnly(KubernetesClient client, String namespace, String node) {
    SimulatedAgent agent = new SimulatedAgent(client, namespace, node);
    agent.loop.scheduleWithFixedDelay(agent::renew, 0, 2, TimeUnit.SECONDS);
    return agent;
  }

  public String node() {
    return node;
  }

  /** With the operator's newest round, as the agent acknowledges it: without it, nobody is ever fenced (TIME-4). */
  private void renew() {
    try {
      AgentRenewals.renew(client, namespace, node);
    } catch (RuntimeException e) {
      // A missed renewal is what a flaky node looks like; the next one tries again.
    }
  }

  private void reportReleases() {
    try {
      Map<String, List<ReleasedGrant>> byDomain = new HashMap<>();
      for (DiskLease lease : client.resources(DiskLease.class).list().getItems()) {
        if (lease.getStatus() == null) {
          continue;
        }
        lease.getStatus().holders.stream().filter(h -> node.equals(h.node)).forEach(h -> {
          String[] key = h.domain.split("/", 2);
          SupervisedDomain domain = client.resources(SupervisedDomain.class).inNamespace(key[0]).withName(key[1]).get();
          if (domain != null && domain.getMetadata().getUid().equals(h.uid) && !stillWanted(domain, lease, h)) {
            byDomain.computeIfAbsent(h.domain, k -> new ArrayList<>())
                .add(new ReleasedGrant(lease.getMetadata().getName(), lease.getMetadata().getUid(), h.epoch));
          }
        });
      }
      byDomain.forEach(this::report);
    } catch (RuntimeException e) {
      // Try again on the next round.
    }
  }

  /** Still named by the domain, in the mode it was granted (a mode change is a release and a new request). */
  private static boolean stillWanted(SupervisedDomain domain, DiskLease lease, LeaseHolder holder) {
    return DomainDisks.wantsLeases(domain) && DomainDisks.resolve(domain, path -> List.of()).stream()
        .anyMatch(d -> (d.leaseName().equals(lease.getMetadata().getName())
            || (d.path() != null && d.path().equals(lease.getSpec().path))) && d.mode() == holder.mode);
  }

  private void report(String key, List<ReleasedGrant> released) {
    String[] parts = key.split("/", 2);
    SupervisedDomain patch = new SupervisedDomain();
    patch.setMetadata(new ObjectMetaBuilder().withNamespace(parts[0]).withName(parts[1]).build());
    patch.setStatus(new SupervisedDomainStatus());
    patch.getStatus().released = released;
    PatchContext context = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    context.setFieldManager(FIELD_MANAGER);
    context.setForce(true);
    client.resources(SupervisedDomain.class).inNamespace(parts[0]).withName(parts[1]).subresource("status")
        .patch(context, patch);
  }

  /** The node dies: no more renewals, no more reports. */
  @Override
  public void close() {
    loop.shutdownNow();
    try {
      loop.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
