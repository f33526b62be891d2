package io.lockwarden.operator.lease;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskPath;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure at most one DiskLease grants for any one path, whatever the timing.
 *
 * <p>Two DiskLeases can name the same path (a declared one from Git beside an automatic one, or two declared by
 * mistake), and the API server has no unique constraint across objects. So each path has a claim: a
 * {@code coordination.k8s.io} Lease named {@code lockwarden-path-<sha256(path)>} in the operator's namespace, whose
 * holderIdentity names the one DiskLease (name and uid) that may grant for that path. Creating an object is atomic
 * and so is an update with a resourceVersion, so two DiskLeases can never both hold the claim, with no clock or cache
 * involved.
 *
 * <p>Who claims first: the oldest DiskLease with the path, as far as the cache knows; a younger one waits while an
 * older one exists. That choice only affects liveness; safety comes from the claim alone. A claim left by a deleted
 * DiskLease is taken over with an update carrying the claim's resourceVersion. A claim, once held, is kept for the
 * lifetime of the DiskLease, whose finalizer gives it up.
 */
public final class PathClaims {
  public static final String DUPLICATE_PATH = "DuplicatePath";
  private static final Logger log = LoggerFactory.getLogger(PathClaims.class);

  private final KubernetesClient client;
  private final String namespace;
  private final Set<String> claimedUids = ConcurrentHashMap.newKeySet();

  public PathClaims(KubernetesClient client, String namespace) {
    this.client = client;
    this.namespace = namespace;
  }

  public static String claimName(String path) {
    return "lockwarden-path-" + DiskPath.sha256Hex(path);
  }

  /**
   * null if {@code lease} holds its path's claim and may grant, else why not.
   *
   * @param samePath the leases with this path as the cache knows them, to let the oldest claim first
   */
  public String blockReason(DiskLease lease, List<DiskLease> samePath) {
    String uid = lease.getMetadata().getUid();
    if (claimedUids.contains(uid)) {
      return null;
    }
    boolean olderExists = samePath.stream()
        .anyMatch(other -> !other.getMetadata().getUid().equals(uid) && LeaseNames.OLDEST_FIRST.compare(other, lease) < 0);
    if (olderExists) {
      return DUPLICATE_PATH;
    }
    String me = identity(lease);
    String name = claimName(lease.getSpec().path);
    try {
      client.resource(newClaim(name, me, lease)).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      // Already claimed: by this lease (another thread of ours got there first), by another lease, or left behind.
      Lease claim = client.leases().inNamespace(namespace).withName(name).get();
      if (claim == null || !takenBy(claim, me)) {
        return DUPLICATE_PATH;
      }
    }
    claimedUids.add(uid);
    log.info("event=path-claimed lease={} path={} claim={}", lease.getMetadata().getName(), lease.getSpec().path, name);
    return null;
  }

  /** Whether {@code claim} is now held by {@code me}: already, or taken over from a DiskLease that is gone. */
  private boolean takenBy(Lease claim, String me) {
    String holder = claim.getSpec().getHolderIdentity();
    if (me.equals(holder)) {
      return true;
    }
    if (holder != null && holderStillExists(holder)) {
      return false;
    }
    claim.getSpec().setHolderIdentity(me);
    try {
      client.resource(claim).update(); // carries the resourceVersion read: only one taker can win
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        return false;
      }
      throw e;
    }
  }

  /** Gives up the claim of a DiskLease that is going away, so another lease of the path may take it at once. */
  public void release(DiskLease lease) {
    claimedUids.remove(lease.getMetadata().getUid());
    Lease claim = client.leases().inNamespace(namespace).withName(claimName(lease.getSpec().path)).get();
    if (claim != null && identity(lease).equals(claim.getSpec().getHolderIdentity())) {
      try {
        client.resource(claim).lockResourceVersion().delete();
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 && e.getCode() != 404) {
          throw e;
        }
      }
    }
  }

  private boolean holderStillExists(String holder) {
    String[] nameAndUid = holder.split("/", 2);
    DiskLease current = client.resources(DiskLease.class).withName(nameAndUid[0]).get();
    return current != null && current.getMetadata().getUid().equals(nameAndUid[1]);
  }

  private static String identity(DiskLease lease) {
    return lease.getMetadata().getName() + "/" + lease.getMetadata().getUid();
  }

  private Lease newClaim(String name, String holder, DiskLease lease) {
    return new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace)
            .withAnnotations(Map.of("lockwarden.io/path", lease.getSpec().path)).build())
        .withNewSpec().withHolderIdentity(holder).endSpec()
        .build();
  }
}
