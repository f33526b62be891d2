package io.lockwarden.operator.lease;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.DiskLease;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides whether a DiskLease may grant at all, given other leases with the same path: only a lease strictly older
 * than every other lease with its path may. Asked of the API server, never of the cache, since a lease the cache has
 * not seen yet could otherwise grant the same disk twice.
 *
 * <p>Why one successful check per lease is enough: a lease created later has a creationTimestamp at least as late.
 * If it is later, it is younger; if it is the same second, it is not strictly older. Either way it can never pass this
 * check while this lease exists, so this lease stays the only one that grants for its path. Ties grant nothing on the
 * younger side, which is why the rule is "strictly older", not "first by name".
 */
public final class PathOwnership {
  public static final String DUPLICATE_PATH = "DuplicatePath";

  private final KubernetesClient client;
  private final Set<String> verifiedUids = ConcurrentHashMap.newKeySet();

  public PathOwnership(KubernetesClient client) {
    this.client = client;
  }

  /** null if {@code lease} may grant, else the reason it may not. */
  public String blockReason(DiskLease lease) {
    String uid = lease.getMetadata().getUid();
    if (verifiedUids.contains(uid)) {
      return null;
    }
    List<DiskLease> samePath = client.resources(DiskLease.class)
        .withField("spec.path", escapeFieldValue(lease.getSpec().path)).list().getItems();
    String created = lease.getMetadata().getCreationTimestamp();
    boolean strictlyOldest = samePath.stream()
        .filter(other -> !other.getMetadata().getUid().equals(uid))
        .allMatch(other -> created.compareTo(other.getMetadata().getCreationTimestamp()) < 0);
    if (!strictlyOldest) {
      return DUPLICATE_PATH;
    }
    verifiedUids.add(uid);
    return null;
  }

  /** Field selector values escape \, , and = with a backslash. */
  static String escapeFieldValue(String value) {
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=");
  }
}
