package io.lockwarden.operator.domain;

import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

/** What a domain asks of the lease manager, read from its spec. */
public final class DomainDisks {
  /** One disk of a domain, with the lease that stands for it. */
  public record Resolved(String leaseName, String path, AccessMode mode) {}

  private DomainDisks() {}

  /** See {@link DomainIntent#node}. */
  public static String node(SupervisedDomain domain) {
    return DomainIntent.node(domain);
  }

  /** namespace/name: how holders and waiters name their domain. */
  public static String key(SupervisedDomain domain) {
    return DomainIntent.key(domain);
  }

  /**
   * The domain's disks with their leases, in the one global order every domain acquires in: by lease name. Acquiring
   * in a global order is what rules out deadlock: a domain waiting for a lease holds only leases that sort before
   * it, so a cycle of domains each waiting for the next would need a lease sorting before itself.
   */
  public static List<Resolved> resolve(SupervisedDomain domain, Function<String, List<DiskLease>> leasesWithPath) {
    List<Resolved> resolved = new ArrayList<>();
    if (domain.getSpec() != null && domain.getSpec().disks != null) {
      for (DomainDisk disk : domain.getSpec().disks) {
        AccessMode mode = disk.mode == null ? AccessMode.Exclusive : disk.mode;
        String name = disk.leaseName != null ? disk.leaseName : LeaseNames.forPath(disk.path, leasesWithPath.apply(disk.path));
        resolved.add(new Resolved(name, disk.path, mode));
      }
    }
    resolved.sort(Comparator.comparing(Resolved::leaseName));
    return resolved;
  }

  /** See {@link DomainIntent#wantsLeases}. */
  public static boolean wantsLeases(SupervisedDomain domain) {
    return DomainIntent.wantsLeases(domain);
  }
}
