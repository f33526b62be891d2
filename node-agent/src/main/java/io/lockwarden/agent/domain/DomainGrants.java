package io.lockwarden.agent.domain;

import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Pure logic: which of the grants held on this node a domain wants, and whether it has them all. A grant is wanted if
 * the domain wants its leases on this node and a disk of its spec names the grant's lease (by name or by path) in the
 * granted mode; a grant the node was fenced for is never wanted again.
 *
 * @param held every grant the DiskLeases record for this domain on this node
 * @param wanted the subset to lock, in lease-name order (the order every domain acquires in)
 * @param complete whether every disk of the spec has a wanted grant: the domain may start
 */
public record DomainGrants(List<Grant> held, List<Grant> wanted, boolean complete) {

  public static DomainGrants of(SupervisedDomain domain, String node, Collection<DiskLease> leases,
      Set<String> fencedGrants) {
    return of(domain, node, node.equals(DomainIntent.node(domain)), leases, fencedGrants);
  }

  /** @param runsHere whether the domain runs on this node (placed here, or taken over in a hand-off) */
  public static DomainGrants of(SupervisedDomain domain, String node, boolean runsHere, Collection<DiskLease> leases,
      Set<String> fencedGrants) {
    String uid = domain.getMetadata().getUid();
    List<Grant> held = new ArrayList<>();
    for (DiskLease lease : leases) {
      if (lease.getStatus() == null) {
        continue;
      }
      lease.getStatus().holders.stream().filter(h -> uid.equals(h.uid) && node.equals(h.node))
          .forEach(h -> held.add(Grant.of(lease, h)));
    }
    held.sort((a, b) -> a.leaseName().compareTo(b.leaseName()));
    boolean wantsHere = DomainIntent.wantsLeases(domain) && runsHere;
    List<DomainDisk> disks = domain.getSpec() == null || domain.getSpec().disks == null ? List.of()
        : domain.getSpec().disks;
    List<Grant> wanted = new ArrayList<>();
    int matched = 0;
    for (DomainDisk disk : disks) {
      AccessMode mode = disk.mode == null ? AccessMode.Exclusive : disk.mode;
      Grant grant = held.stream().filter(g -> g.mode() == mode && !fencedGrants.contains(g.key())
              && (disk.leaseName != null ? disk.leaseName.equals(g.leaseName()) : disk.path.equals(g.path())))
          .findFirst().orElse(null);
      if (wantsHere && grant != null) {
        wanted.add(grant);
        matched++;
      }
    }
    wanted.sort((a, b) -> a.leaseName().compareTo(b.leaseName()));
    return new DomainGrants(List.copyOf(held), List.copyOf(wanted), wantsHere && matched == disks.size());
  }
}
