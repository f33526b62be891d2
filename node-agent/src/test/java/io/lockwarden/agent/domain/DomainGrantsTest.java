package io.lockwarden.agent.domain;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseSpec;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.Placement;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which grants on a node a domain wants: the agent starts only with all of them and releases the rest. */
class DomainGrantsTest {
  @Test
  void aDomainIsCompleteOnlyWithAGrantInTheRightModeForEveryDisk() {
    SupervisedDomain vm = domain("n1", new DomainDisk("/d/a", AccessMode.Exclusive), new DomainDisk("/d/b", AccessMode.Shared));
    DiskLease a = lease("a", "/d/a", holder("uid-1", "n1", AccessMode.Exclusive, 3));
    DiskLease b = lease("b", "/d/b", holder("uid-1", "n1", AccessMode.Exclusive, 4)); // wrong mode

    DomainGrants grants = DomainGrants.of(vm, "n1", List.of(a, b), Set.of());
    assertThat(grants.complete()).isFalse();
    assertThat(grants.wanted()).extracting(Grant::leaseName).containsExactly("a");
    assertThat(grants.held()).extracting(Grant::leaseName).containsExactly("a", "b");

    DiskLease bShared = lease("b", "/d/b", holder("uid-1", "n1", AccessMode.Shared, 5));
    assertThat(DomainGrants.of(vm, "n1", List.of(a, bShared), Set.of()).complete()).isTrue();
  }

  @Test
  void grantsOnOtherNodesOrForOtherDomainsAreNotThisDomainsHere() {
    SupervisedDomain vm = domain("n1", new DomainDisk("/d/a", AccessMode.Exclusive));
    DiskLease elsewhere = lease("a", "/d/a", holder("uid-1", "n2", AccessMode.Exclusive, 1),
        holder("uid-2", "n1", AccessMode.Exclusive, 2));
    DomainGrants grants = DomainGrants.of(vm, "n1", List.of(elsewhere), Set.of());
    assertThat(grants.held()).isEmpty();
    assertThat(grants.complete()).isFalse();
  }

  @Test
  void aStoppedDomainOrAFencedGrantIsHeldButNotWanted() {
    SupervisedDomain vm = domain("n1", new DomainDisk("/d/a", AccessMode.Exclusive));
    DiskLease a = lease("a", "/d/a", holder("uid-1", "n1", AccessMode.Exclusive, 7));
    assertThat(DomainGrants.of(vm, "n1", List.of(a), Set.of("a,7")).wanted()).isEmpty();
    vm.getSpec().running = false;
    DomainGrants stopped = DomainGrants.of(vm, "n1", List.of(a), Set.of());
    assertThat(stopped.wanted()).isEmpty();
    assertThat(stopped.held()).hasSize(1);
    assertThat(stopped.complete()).isFalse();
  }

  @Test
  void aDiskNamedByLeaseNameMatchesItsLease() {
    DomainDisk byName = new DomainDisk();
    byName.leaseName = "shared-store";
    byName.mode = AccessMode.ReadOnly;
    SupervisedDomain vm = domain("n1", byName);
    DiskLease store = lease("shared-store", "/d/store", holder("uid-1", "n1", AccessMode.ReadOnly, 1));
    DomainGrants grants = DomainGrants.of(vm, "n1", List.of(store), Set.of());
    assertThat(grants.complete()).isTrue();
    assertThat(grants.wanted().get(0).lockMode().name()).isEqualTo("READ");
  }

  private static SupervisedDomain domain(String node, DomainDisk... disks) {
    SupervisedDomain domain = new SupervisedDomain();
    domain.setMetadata(new ObjectMetaBuilder().withNamespace("ns").withName("vm").withUid("uid-1").withGeneration(1L)
        .build());
    domain.setSpec(new SupervisedDomainSpec());
    domain.getSpec().placement = new Placement();
    domain.getSpec().placement.nodeName = node;
    domain.getSpec().disks = new ArrayList<>(List.of(disks));
    domain.getSpec().command = List.of("/bin/true");
    return domain;
  }

  private static DiskLease lease(String name, String path, LeaseHolder... holders) {
    DiskLease lease = new DiskLease();
    lease.setMetadata(new ObjectMetaBuilder().withName(name).withUid("lease-" + name).build());
    lease.setSpec(new DiskLeaseSpec());
    lease.getSpec().path = path;
    lease.setStatus(new DiskLeaseStatus());
    lease.getStatus().holders = new ArrayList<>(List.of(holders));
    return lease;
  }

  private static LeaseHolder holder(String uid, String node, AccessMode mode, long epoch) {
    LeaseHolder holder = new LeaseHolder();
    holder.uid = uid;
    holder.domain = "ns/vm";
    holder.node = node;
    holder.mode = mode;
    holder.epoch = epoch;
    return holder;
  }
}
