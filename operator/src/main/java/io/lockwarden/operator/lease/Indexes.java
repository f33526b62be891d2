package io.lockwarden.operator.lease;

import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseWaiter;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Informer cache indexes both controllers use to find who is related to whom. */
public final class Indexes {
  /** DiskLease by spec.path. */
  public static final String LEASE_BY_PATH = "path";
  /** DiskLease by the uid of each holder and waiter. */
  public static final String LEASE_BY_DOMAIN_UID = "domainUid";
  /** DiskLease by the node of each holder. */
  public static final String LEASE_BY_HOLDER_NODE = "holderNode";
  /** SupervisedDomain by each disk's reference: {@link #byName} or {@link #byPath}. */
  public static final String DOMAIN_BY_DISK = "disk";
  /** SupervisedDomain by status.node. */
  public static final String DOMAIN_BY_NODE = "node";

  private Indexes() {}

  public static Map<String, Function<DiskLease, List<String>>> forLeases() {
    return Map.of(
        LEASE_BY_PATH, l -> l.getSpec() == null ? List.of() : List.of(l.getSpec().path),
        LEASE_BY_DOMAIN_UID, l -> {
          List<String> uids = new ArrayList<>();
          if (l.getStatus() != null) {
            l.getStatus().holders.forEach((LeaseHolder h) -> uids.add(h.uid));
            l.getStatus().waiting.forEach((LeaseWaiter w) -> uids.add(w.uid));
          }
          return uids;
        },
        LEASE_BY_HOLDER_NODE, l -> l.getStatus() == null ? List.of()
            : l.getStatus().holders.stream().map(h -> h.node).distinct().toList());
  }

  public static Map<String, Function<SupervisedDomain, List<String>>> forDomains() {
    return Map.of(
        DOMAIN_BY_DISK, d -> d.getSpec() == null || d.getSpec().disks == null ? List.of()
            : d.getSpec().disks.stream().map(Indexes::diskKey).toList(),
        DOMAIN_BY_NODE, d -> d.getStatus() == null || d.getStatus().node == null ? List.of() : List.of(d.getStatus().node));
  }

  public static String byName(String leaseName) {
    return "name:" + leaseName;
  }

  public static String byPath(String path) {
    return "path:" + path;
  }

  private static String diskKey(DomainDisk disk) {
    return disk.leaseName != null ? byName(disk.leaseName) : byPath(disk.path);
  }
}
