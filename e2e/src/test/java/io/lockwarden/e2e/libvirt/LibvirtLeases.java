package io.lockwarden.e2e.libvirt;

import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.Await;
import java.nio.file.Path;
import java.time.Duration;

/** What the cluster says about libvirt's domains and their disks, as the libvirt tests read and wait for it. */
final class LibvirtLeases {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private final LocalSystem system;

  LibvirtLeases(LocalSystem system) {
    this.system = system;
  }

  /** The SupervisedDomain of libvirt domain {@code vm}: made by the agent ({@code vm-<uuid block>}) or declared. */
  SupervisedDomain domainOf(String vm) {
    return system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems().stream()
        .filter(d -> d.getMetadata().getName().startsWith(vm + "-") || d.getMetadata().getName().equals(vm))
        .findFirst().orElseThrow(() -> new AssertionError("no SupervisedDomain for libvirt domain " + vm));
  }

  /** The DiskLease of the disk at {@code disk}, or null. */
  DiskLease leaseOf(Path disk) {
    return system.admin.resources(DiskLease.class).list().getItems().stream()
        .filter(l -> l.getSpec() != null && disk.toString().equals(l.getSpec().path)).findFirst().orElse(null);
  }

  LeaseHolder awaitHolder(Path disk, String shortNode) {
    String node = system.node(shortNode);
    LeaseHolder[] found = new LeaseHolder[1];
    Await.until(disk + " held on " + node, WAIT, () -> {
      DiskLease lease = leaseOf(disk);
      found[0] = lease == null || lease.getStatus() == null ? null : lease.getStatus().holders.stream()
          .filter(h -> node.equals(h.node)).findFirst().orElse(null);
      return found[0] != null;
    });
    return found[0];
  }

  void awaitFree(Path disk) {
    // An automatic DiskLease nobody uses any more is deleted: gone counts as free.
    Await.until(disk + " held by nobody", WAIT, () -> {
      DiskLease lease = leaseOf(disk);
      return lease == null || lease.getStatus() != null && lease.getStatus().holders.isEmpty();
    });
  }
}
