package io.lockwarden.operator.lease;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskPath;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 *
 * <p>The claim also carries the path's fencing epochs across DiskLeases. Epochs grow within one DiskLease, but an
 * automatic lease is deleted once unused and a new one made for the next request; it would start again at 1, and a
 * fence outside lockwarden that compares tokens per disk would see them go back. So giving up a claim does not
 * delete it: it clears the holder and writes the lease's last epoch in {@link #LAST_EPOCH}, and whichever lease
 * takes the claim next grants above it ({@link #epochFloor}). A claim thus outlives its leases, one small object per
 * path ever leased.
 */
public final class PathClaims {
  public static final String DUPLICATE_PATH = "DuplicatePath";
  /** On a claim: the highest epoch any earlier DiskLease of the path granted. */
  public static final String LAST_EPOCH = "lockwarden.io/last-epoch";
  private static final Logger log = LoggerFactory.getLogger(PathClaims.class);

  private final KubernetesClient client;
  private final String namespace;
  /** uid of each DiskLease known to hold its claim, and the epoch floor the claim gave it. */
  private final Map<String, Long> floorOfClaimed = new ConcurrentHashMap<>();

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
    if (floorOfClaimed.containsKey(uid)) {
      return null;
    }
    boolean olderExists = samePath.stream()
        .anyMatch(other -> !other.getMetadata().getUid().equals(uid) && LeaseNames.OLDEST_FIRST.compare(other, lease) < 0);
    if (olderExists) {
      return DUPLICATE_PATH;
    }
    String me = identity(lease);
    String name = claimName(lease.getSpec().path);
    long floor = 0;
    try {
      client.resource(newClaim(name, me, lease.getSpec().path, 0)).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 409) {
        throw e;
      }
      // Already claimed: by this lease (another thread of ours got there first), by another lease, or given up.
      Lease claim = client.leases().inNamespace(namespace).withName(name).get();
      if (claim == null || !takenBy(claim, me)) {
        return DUPLICATE_PATH;
      }
      floor = lastEpoch(claim);
    }
    floorOfClaimed.put(uid, floor);
    log.info("event=path-claimed lease={} path={} claim={} epochFloor={}", lease.getMetadata().getName(),
        lease.getSpec().path, name, floor);
    return null;
  }

  /**
   * The epoch {@code lease} must grant above: the last one an earlier DiskLease of its path granted. Only meaningful
   * once {@link #blockReason} returned null for it; 0 before.
   */
  public long epochFloor(DiskLease lease) {
    return floorOfClaimed.getOrDefault(lease.getMetadata().getUid(), 0L);
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

  /**
   * Gives up the claim of a DiskLease that is going away, so another lease of the path may take it at once, and
   * leaves the lease's last epoch on it. Throws if that cannot be written, so the finalizer stays and this is retried:
   * removing the lease without it would let the path's epochs go back.
   */
  public void release(DiskLease lease) {
    String name = claimName(lease.getSpec().path);
    long epoch = lease.getStatus() == null || lease.getStatus().epoch == null ? 0 : lease.getStatus().epoch;
    Lease claim = client.leases().inNamespace(namespace).withName(name).get();
    if (claim == null) {
      if (epoch > 0) { // granted under a claim someone deleted: keep its epoch for the next lease of the path
        client.resource(newClaim(name, null, lease.getSpec().path, epoch)).create();
      }
    } else if (identity(lease).equals(claim.getSpec().getHolderIdentity())) {
      // The claim still carries the floor this lease was given: a lease that never granted passes it on unchanged.
      long last = Math.max(epoch, lastEpoch(claim));
      claim.getSpec().setHolderIdentity(null);
      Map<String, String> annotations = new HashMap<>(Objects.requireNonNullElse(claim.getMetadata().getAnnotations(),
          Map.of()));
      annotations.put(LAST_EPOCH, Long.toString(last));
      claim.getMetadata().setAnnotations(annotations);
      client.resource(claim).update(); // carries the resourceVersion read; a 409 fails the cleanup, which is retried
      log.info("event=path-released lease={} path={} claim={} lastEpoch={}", lease.getMetadata().getName(),
          lease.getSpec().path, name, last);
    }
    floorOfClaimed.remove(lease.getMetadata().getUid());
  }

  private static long lastEpoch(Lease claim) {
    String value = claim.getMetadata().getAnnotations() == null ? null
        : claim.getMetadata().getAnnotations().get(LAST_EPOCH);
    try {
      return value == null ? 0 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return 0; // written only by us; a hand-edited claim gets no floor rather than a stuck lease
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

  private Lease newClaim(String name, String holder, String path, long lastEpoch) {
    return new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace)
            .withAnnotations(Map.of("lockwarden.io/path", path, LAST_EPOCH, Long.toString(lastEpoch))).build())
        .withNewSpec().withHolderIdentity(holder).endSpec()
        .build();
  }
}
