package io.lockwarden.agent.attach;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.lockd.LockOwner;
import io.lockwarden.api.v1alpha1.AttachSpec;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * The SupervisedDomains that stand for libvirt domains: found by uuid in the agent's libvirt namespace, created on the
 * first REGISTER unless declared beforehand, and their spec changed (attach.node, disks) with optimistic concurrency,
 * so that two agents, or an agent and a user, never overwrite each other's change unseen.
 */
public final class AttachedDomains {
  static final String LIBVIRT_NAME = "lockwarden.io/libvirt-name";
  private static final int ATTEMPTS = 10;

  private final KubernetesClient client;
  private final ClusterView view;
  /** A lockd wait's last fresh read of a domain gone from the cache, by uid; dropped when the wait ends. */
  private final Map<String, FreshRead> freshReads = new ConcurrentHashMap<>();
  private static final long FRESH_READ_NANOS = 250_000_000L;
  private final String namespace;

  public AttachedDomains(KubernetesClient client, ClusterView view, String namespace) {
    this.client = client;
    this.view = view;
    this.namespace = namespace;
  }

  String namespace() {
    return namespace;
  }

  /** The domain with this uuid in the libvirt namespace, read from the API server (not the cache), or null. */
  SupervisedDomain find(java.util.UUID uuid) {
    String wanted = uuid.toString();
    return client.resources(SupervisedDomain.class).inNamespace(namespace).list().getItems().stream()
        .filter(d -> d.getSpec() != null && wanted.equalsIgnoreCase(d.getSpec().uuid)).findFirst().orElse(null);
  }

  /**
   * The cached copy, for waits: the informer sees every change in order. The cache holds only the domains that name
   * this node; one that has left it (taken by another node's libvirt meanwhile) is read fresh instead, at most every
   * {@link #FRESH_READ_NANOS} per domain, as a wait polls every few milliseconds. Null while neither knows it.
   */
  SupervisedDomain cached(SupervisedDomain domain) {
    String uid = domain.getMetadata().getUid();
    SupervisedDomain cached = view.domains().stream().filter(d -> uid.equals(d.getMetadata().getUid())).findFirst()
        .orElse(null);
    if (cached != null) {
      freshReads.remove(uid);
      return cached;
    }
    long now = System.nanoTime();
    FreshRead last = freshReads.get(uid);
    if (last != null && now - last.atNanos() < FRESH_READ_NANOS) {
      return last.domain();
    }
    SupervisedDomain fresh = null;
    try {
      fresh = view.fresh(domain.getMetadata().getNamespace(), domain.getMetadata().getName(), uid);
    } catch (RuntimeException e) {
      // unknown, as before the cache had it: the wait goes on to its deadline
    }
    freshReads.put(uid, new FreshRead(now, fresh));
    return fresh;
  }

  /** Forgets the fresh reads of a call that has ended. */
  void doneWaiting(String uid) {
    freshReads.remove(uid);
  }

  private record FreshRead(long atNanos, SupervisedDomain domain) {}

  SupervisedDomain create(LockOwner owner) {
    SupervisedDomain domain = new SupervisedDomain();
    domain.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(nameFor(owner))
        .withLabels(Map.of(LIBVIRT_NAME, labelValue(owner.name()))).build());
    SupervisedDomainSpec spec = new SupervisedDomainSpec();
    spec.uuid = owner.uuid().toString();
    spec.id = owner.id();
    spec.attach = new AttachSpec();
    domain.setSpec(spec);
    try {
      return client.resource(domain).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        SupervisedDomain found = find(owner.uuid());
        if (found != null) {
          return found; // another connection of the same libvirt created it first
        }
      }
      throw e;
    }
  }

  /** Applies {@code change} to the latest spec and writes it with its resourceVersion; re-reads on a conflict. */
  SupervisedDomain update(SupervisedDomain domain, UnaryOperator<SupervisedDomain> change) {
    String name = domain.getMetadata().getName();
    KubernetesClientException last = null;
    for (int i = 0; i < ATTEMPTS; i++) {
      SupervisedDomain latest = client.resources(SupervisedDomain.class).inNamespace(namespace).withName(name).get();
      if (latest == null) {
        throw new IllegalStateException("SupervisedDomain " + namespace + "/" + name + " is gone");
      }
      SupervisedDomain changed = change.apply(latest);
      if (changed == null) {
        return latest; // nothing to change
      }
      try {
        return client.resource(changed).update();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        last = e;
      }
    }
    throw last;
  }

  /** A Kubernetes name from libvirt's: lower case, [a-z0-9-.], with the uuid's first block to keep it unique. */
  static String nameFor(LockOwner owner) {
    String base = owner.name().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]+", "-").replaceAll("^[-.]+|[-.]+$", "");
    if (base.isEmpty()) {
      base = "vm";
    }
    if (base.length() > 200) {
      base = base.substring(0, 200);
    }
    return base + "-" + owner.uuid().toString().substring(0, 8);
  }

  private static String labelValue(String name) {
    String value = name.replaceAll("[^A-Za-z0-9_.-]+", "_");
    value = value.length() > 63 ? value.substring(0, 63) : value;
    return value.replaceAll("^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "");
  }
}
