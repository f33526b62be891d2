package io.lockwarden.agent.cluster;

import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the agent knows of the cluster: the informer caches of SupervisedDomains and DiskLeases (which lag behind the
 * API server), and fresh reads for the decisions that must not rest on a lagging cache (a fence, a resume).
 */
public final class ClusterView implements AutoCloseable {
  private static final String HOLDER_UID = "holderUid";

  private final KubernetesClient client;
  private SharedIndexInformer<SupervisedDomain> domains;
  private SharedIndexInformer<DiskLease> leases;
  /** Set once both informers have synced: before that, an empty cache would look like every domain deleted. */
  private volatile boolean synced;

  public ClusterView(KubernetesClient client) {
    this.client = client;
  }

  /** Starts both informers and waits for their first list; {@code onChange} runs on every event. */
  public void start(Runnable onChange) throws InterruptedException, ExecutionException, TimeoutException {
    ResourceEventHandler<Object> wake = new ResourceEventHandler<>() {
      @Override
      public void onAdd(Object obj) {
        onChange.run();
      }

      @Override
      public void onUpdate(Object oldObj, Object newObj) {
        onChange.run();
      }

      @Override
      public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
        onChange.run();
      }
    };
    leases = client.resources(DiskLease.class).runnableInformer(0);
    leases.addIndexers(Map.of(HOLDER_UID, l -> l.getStatus() == null ? List.of()
        : l.getStatus().holders.stream().map(h -> h.uid).distinct().toList()));
    leases.addEventHandler(wake);
    domains = client.resources(SupervisedDomain.class).inAnyNamespace().runnableInformer(0);
    domains.addEventHandler(wake);
    leases.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    domains.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    synced = true;
  }

  public boolean synced() {
    return synced;
  }

  /** Whether both watches are up: for /healthz. */
  public boolean watching() {
    return domains != null && domains.isWatching() && leases.isWatching();
  }

  public List<SupervisedDomain> domains() {
    return domains.getStore().list();
  }

  /** The cached DiskLeases that list the domain {@code uid} as a holder, on any node. */
  public List<DiskLease> leasesHeldBy(String uid) {
    return leases.getIndexer().byIndex(HOLDER_UID, uid);
  }

  /** Every cached DiskLease. */
  public List<DiskLease> leases() {
    return leases.getStore().list();
  }

  /** The cached DiskLease, or null. */
  public DiskLease lease(String name) {
    return leases.getStore().getByKey(name);
  }

  /** Every DiskLease as the API server has it now, with the list's resourceVersion. */
  public FreshLeases freshLeases() {
    KubernetesResourceList<DiskLease> list = client.resources(DiskLease.class).list();
    return new FreshLeases(list.getItems(), list.getMetadata().getResourceVersion());
  }

  /**
   * Whether the DiskLease cache has taken in everything {@code fresh} shows: each listed lease at its listed version or
   * later (or gone since: the cache has taken in an event at least as new as the listed version, and events come in
   * order), and no cached lease older than the list that the list no longer has (deleted before it). etcd's revisions
   * are integers that only grow; anything else never counts as caught up.
   */
  public boolean caughtUpWith(FreshLeases fresh) {
    try {
      long listVersion = Long.parseLong(fresh.resourceVersion());
      String synced = leases.lastSyncResourceVersion();
      long seen = synced == null || synced.isEmpty() ? -1 : Long.parseLong(synced);
      java.util.Set<String> listed = new java.util.HashSet<>();
      for (DiskLease lease : fresh.items()) {
        listed.add(lease.getMetadata().getName());
        DiskLease cached = lease(lease.getMetadata().getName());
        if (cached == null ? seen < version(lease) : version(cached) < version(lease)) {
          return false;
        }
      }
      for (DiskLease cached : leases.getStore().list()) {
        if (!listed.contains(cached.getMetadata().getName()) && version(cached) <= listVersion) {
          return false;
        }
      }
      return true;
    } catch (NumberFormatException | NullPointerException e) {
      return false;
    }
  }

  private static long version(DiskLease lease) {
    return Long.parseLong(lease.getMetadata().getResourceVersion());
  }

  @Override
  public void close() {
    if (domains != null) {
      domains.close();
    }
    if (leases != null) {
      leases.close();
    }
  }

  /** A list straight from the API server. */
  public record FreshLeases(List<DiskLease> items, String resourceVersion) {}
}
