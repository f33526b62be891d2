package io.lockwarden.operator.lease;

import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskPath;
import java.util.Comparator;
import java.util.List;

/** Which DiskLease stands for a disk path. */
public final class LeaseNames {
  public static final String AUTO_LABEL = "lockwarden.io/auto";

  /** Oldest first; ties (creationTimestamp has one-second resolution) broken by name, for a stable answer. */
  public static final Comparator<DiskLease> OLDEST_FIRST = Comparator
      .comparing((DiskLease l) -> l.getMetadata().getCreationTimestamp(), Comparator.nullsLast(Comparator.naturalOrder()))
      .thenComparing(l -> l.getMetadata().getName());

  private LeaseNames() {}

  /** The name of the lease the operator creates for a path nobody declared: disk-{first 16 hex of sha256(path)}. */
  public static String autoName(String path) {
    return "disk-" + DiskPath.sha256Hex(path).substring(0, 16);
  }

  /** The lease a domain's path disk uses: the oldest lease with that path, else the auto lease. */
  public static String forPath(String path, List<DiskLease> leasesWithPath) {
    return leasesWithPath.stream().min(OLDEST_FIRST).map(l -> l.getMetadata().getName()).orElse(autoName(path));
  }

  public static boolean isAuto(DiskLease lease) {
    return "true".equals(lease.getMetadata().getLabels() == null ? null : lease.getMetadata().getLabels().get(AUTO_LABEL));
  }
}
