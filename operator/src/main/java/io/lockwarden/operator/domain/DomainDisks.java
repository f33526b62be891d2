package io.lockwarden.operator.domain;

import io.fabric8.kubernetes.api.model.Condition;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/** What a domain asks of the lease manager, read from its spec. */
public final class DomainDisks {
  /** One disk of a domain, with the lease that stands for it. */
  public record Resolved(String leaseName, String path, AccessMode mode) {}

  private DomainDisks() {}

  /**
   * The node the domain runs on: the operator's placement in status.node, or, before that is written, the one node
   * spec.placement.nodeName names, which leaves no choice to make. Saves a write before a new domain's first grant.
   */
  public static String node(SupervisedDomain domain) {
    String placed = domain.getStatus() == null ? null : domain.getStatus().node;
    if (placed != null || domain.getSpec() == null || domain.getSpec().placement == null) {
      return placed;
    }
    return domain.getSpec().placement.nodeName;
  }

  /** namespace/name: how holders and waiters name their domain. */
  public static String key(SupervisedDomain domain) {
    return domain.getMetadata().getNamespace() + "/" + domain.getMetadata().getName();
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

  /**
   * Whether the domain wants its leases now: not being deleted, asked to run, and not finished for good. The agent
   * says "finished" with condition Running=False, reason Completed, for the generation it saw: an exit its restart
   * policy will not restart. Any later spec change is a new generation, and the domain asks again.
   */
  public static boolean wantsLeases(SupervisedDomain domain) {
    if (domain.getMetadata().getDeletionTimestamp() != null || domain.getSpec() == null) {
      return false;
    }
    if (Boolean.FALSE.equals(domain.getSpec().running)) {
      return false;
    }
    List<Condition> conditions = domain.getStatus() == null ? null : domain.getStatus().conditions;
    return conditions == null || conditions.stream().noneMatch(c -> DomainConditions.RUNNING.equals(c.getType())
        && DomainConditions.REASON_COMPLETED.equals(c.getReason())
        && Objects.equals(c.getObservedGeneration(), domain.getMetadata().getGeneration()));
  }
}
