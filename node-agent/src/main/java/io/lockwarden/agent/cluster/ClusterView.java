package io.lockwarden.agent.cluster;

import io.fabric8.kubernetes.api.model.KubernetesResourceList;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent knows of the cluster: the informer caches of this node's SupervisedDomains and of every DiskLease
 * (which lag behind the API server), and fresh reads for the decisions that must not rest on a lagging cache (a fence,
 * a resume, a domain that left this node's watches). Domains are selected by node on the API server (issue #16), so
 * an agent's memory and watch traffic do not grow with domains on other nodes; DiskLeases are not (a lease names its
 * holders' nodes in a list, which no field selector reaches).
 */
public final class ClusterView implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterView.class);
  private static final String HOLDER_UID = "holderUid";

  /**
   * The fields that name a node on a SupervisedDomain (the CRD's selectableFields): a domain concerns this node if any
   * of them names it. A field selector cannot say "or", so there is one watch per field and the view is their union.
   */
  static final List<String> NODE_FIELDS = List.of("status.node", "spec.placement.nodeName", "spec.attach.node",
      "status.migration.source", "status.migration.target");

  private final KubernetesClient client;
  private final String node;
  private final List<String> nodeFields;
  /** False when the API server refused the field selectors and this view holds every domain. */
  private volatile boolean scoped = true;
  private final List<SharedIndexInformer<SupervisedDomain>> domains =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private SharedIndexInformer<DiskLease> leases;
  private final WatchEvents events;
  /** The newest resourceVersion {@link #domains()} has returned for each domain still in view. */
  private final Map<String, Long> newestSeen = new java.util.HashMap<>();
  /** Set once both informers have synced: before that, an empty cache would look like every domain deleted. */
  private volatile boolean synced;

  /** {@code events} counts what the watches deliver, by kind. */
  public ClusterView(KubernetesClient client, String node, WatchEvents events) {
    this(client, node, events, NODE_FIELDS);
  }

  /** With other fields to select on: a test's, say one the API server refuses. */
  ClusterView(KubernetesClient client, String node, WatchEvents events, List<String> nodeFields) {
    this.client = client;
    this.node = node;
    this.events = events;
    this.nodeFields = nodeFields;
  }

  /** Starts the informers and waits for their first lists; {@code onChange} runs on every event. */
  public void start(Runnable onChange) throws InterruptedException, ExecutionException, TimeoutException {
    leases = client.resources(DiskLease.class).runnableInformer(0);
    leases.addIndexers(Map.of(HOLDER_UID, l -> l.getStatus() == null ? List.of()
        : l.getStatus().holders.stream().map(h -> h.uid).distinct().toList()));
    leases.addEventHandler(wake(onChange, WatchEvents.Kind.DiskLease));
    leases.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    try {
      startDomainInformers(nodeFields, onChange);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof KubernetesClientException refused) || refused.getCode() != 400) {
        throw e;
      }
      // An API server without the CRD's selectableFields (Kubernetes before 1.31, or the CRDs of an older release
      // still applied) refuses the selectors: watching every domain is slower, never less safe.
      log.warn("event=domain-field-selectors-refused node={} error=\"{}\" note=this agent watches every domain: "
          + "apply this release's CRDs (Kubernetes 1.31 or later) to watch only its own", node, refused.getMessage());
      domains.forEach(SharedIndexInformer::close);
      domains.clear();
      scoped = false;
      startDomainInformers(List.of(), onChange);
    }
    synced = true;
  }

  /** One informer per field selecting this node's domains; with no field, one informer on every domain. */
  private void startDomainInformers(List<String> fields, Runnable onChange)
      throws InterruptedException, ExecutionException, TimeoutException {
    for (String field : fields.isEmpty() ? java.util.Collections.<String>singletonList(null) : fields) {
      var all = client.resources(SupervisedDomain.class).inAnyNamespace();
      SharedIndexInformer<SupervisedDomain> informer =
          (field == null ? all : all.withField(field, node)).runnableInformer(0);
      informer.addEventHandler(wake(onChange, WatchEvents.Kind.SupervisedDomain));
      domains.add(informer);
      informer.start().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
  }

  /** Whether the view holds only this node's domains (false: the API server refused the field selectors). */
  public boolean scoped() {
    return scoped;
  }

  private ResourceEventHandler<Object> wake(Runnable onChange, WatchEvents.Kind kind) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(Object obj) {
        events.received(kind);
        onChange.run();
      }

      @Override
      public void onUpdate(Object oldObj, Object newObj) {
        events.received(kind);
        onChange.run();
      }

      @Override
      public void onDelete(Object obj, boolean deletedFinalStateUnknown) {
        events.received(kind);
        onChange.run();
      }
    };
  }

  public boolean synced() {
    return synced;
  }

  /** Whether both watches are up: for /healthz. */
  public boolean watching() {
    return leases != null && leases.isWatching() && domains.stream().allMatch(SharedIndexInformer::isWatching);
  }

  /**
   * The cached domains that name this node in one of {@link #NODE_FIELDS}, each once, at the newest version any watch
   * has. A domain that leaves every field (moved away, or between two watches for a moment: each has its own stream)
   * is missing here while it still exists: whoever acts on a domain gone from this list reads it fresh first
   * ({@link #fresh}).
   */
  public List<SupervisedDomain> domains() {
    Map<String, SupervisedDomain> byUid = new LinkedHashMap<>();
    for (SharedIndexInformer<SupervisedDomain> informer : domains) {
      for (SupervisedDomain domain : informer.getStore().list()) {
        byUid.merge(domain.getMetadata().getUid(), domain, (a, b) -> version(b) > version(a) ? b : a);
      }
    }
    // Never back in time: when the watch with the newest copy has dropped it and another still has an older one,
    // the domain counts as out of view until a watch or a fresh read has a copy at least as new.
    synchronized (newestSeen) {
      newestSeen.keySet().retainAll(byUid.keySet());
      byUid.values().removeIf(d -> {
        long newest = newestSeen.merge(d.getMetadata().getUid(), version(d), Math::max);
        return version(d) < newest;
      });
    }
    return new ArrayList<>(byUid.values());
  }

  /** Whether one of the fields this view selects on names {@code node}. */
  public static boolean namesNode(SupervisedDomain domain, String node) {
    var spec = domain.getSpec();
    var status = domain.getStatus();
    return status != null && node.equals(status.node)
        || spec != null && spec.placement != null && node.equals(spec.placement.nodeName)
        || spec != null && spec.attach != null && node.equals(spec.attach.node)
        || status != null && status.migration != null
            && (node.equals(status.migration.source) || node.equals(status.migration.target));
  }

  /** The domain as the API server has it now: null if it is gone (or another object took its name). */
  public SupervisedDomain fresh(String namespace, String name, String uid) {
    SupervisedDomain domain = client.resources(SupervisedDomain.class).inNamespace(namespace).withName(name).get();
    return domain != null && uid.equals(domain.getMetadata().getUid()) ? domain : null;
  }

  /** etcd's revision; anything else counts as the oldest. */
  private static long version(SupervisedDomain domain) {
    try {
      return Long.parseLong(domain.getMetadata().getResourceVersion());
    } catch (NumberFormatException e) {
      return Long.MIN_VALUE;
    }
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
    domains.forEach(SharedIndexInformer::close);
    if (leases != null) {
      leases.close();
    }
  }

  /** A list straight from the API server. */
  public record FreshLeases(List<DiskLease> items, String resourceVersion) {}
}
