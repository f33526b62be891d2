package io.lockwarden.agent.attach;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.agent.lockd.LockdRefusal;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.testing.TestObjects;
import java.util.List;
import org.junit.jupiter.api.Test;

class LibvirtResourcesTest {
  private final List<DiskLease> leases = List.of(TestObjects.diskLease("data", "/var/lib/vms/data.qcow2"),
      TestObjects.diskLease("shared-db", "/var/lib/vms/db.raw"));

  @Test
  void theDirectLockspaceNamesTheDiskByItsPath() throws LockdRefusal {
    DomainDisk disk = LibvirtResources.diskFor("", "/var/lib/vms/other.qcow2", false, leases);

    assertThat(disk.path).isEqualTo("/var/lib/vms/other.qcow2");
    assertThat(disk.mode).isEqualTo(AccessMode.Exclusive);
  }

  @Test
  void anIndirectNameMapsBackToTheDiskLeaseWhosePathHasThatHash() throws LockdRefusal {
    // The SHA-256 of "/var/lib/vms/data.qcow2", as `printf %s /var/lib/vms/data.qcow2 | sha256sum` prints it.
    String hash = LibvirtResources.sha256("/var/lib/vms/data.qcow2");
    assertThat(hash).isEqualTo("6f2de6034aa01ea7cfa47e9bd969cd8ba4a9c1648eb61094c899d2d879b18316");

    DomainDisk disk = LibvirtResources.diskFor("/var/lib/libvirt/lockd/files", hash, true, leases);

    assertThat(disk.leaseName).isEqualTo("data");
    assertThat(disk.mode).isEqualTo(AccessMode.Shared);
  }

  @Test
  void anIndirectNameWithoutADiskLeaseIsRefusedWithWhatToDo() {
    String hash = LibvirtResources.sha256("/nowhere.img");

    assertThatThrownBy(() -> LibvirtResources.diskFor("/var/lib/libvirt/lockd/files", hash, false, leases))
        .isInstanceOf(LockdRefusal.class).hasMessageContaining(hash).hasMessageContaining("declare the disk's DiskLease");
  }

  @Test
  void aLeaseElementNamesADeclaredDiskLeaseByItsKey() throws LockdRefusal {
    DomainDisk disk = LibvirtResources.diskFor("/var/lib/libvirt/lockd/leases/cluster", "shared-db", false, leases);

    assertThat(disk.leaseName).isEqualTo("shared-db");
    assertThatThrownBy(() -> LibvirtResources.diskFor("/x/cluster", "missing", false, leases))
        .isInstanceOf(LockdRefusal.class).hasMessageContaining("no DiskLease named 'missing'");
  }

  @Test
  void aRelativeDirectNameIsRefused() {
    assertThatThrownBy(() -> LibvirtResources.diskFor("", "disk.img", false, leases))
        .isInstanceOf(LockdRefusal.class).hasMessageContaining("not an absolute disk path");
  }
}
