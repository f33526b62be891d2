package io.lockwarden.agent.attach;

import io.lockwarden.agent.lockd.LockdError;
import io.lockwarden.agent.lockd.LockdRefusal;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Pure logic: which disk of the cluster a libvirt resource names, as the lockd plugin names them
 * (lock_driver_lockd.c):
 * <ul>
 *   <li>direct lockspace (path ""): the resource is the disk's path, and the disk is that path's DiskLease (a declared
 *       one, or the automatic one the operator makes);
 *   <li>indirect lockspace ({@code file_lockspace_dir}): the resource is the SHA-256 hex of the disk path as libvirt
 *       wrote it, mapped back to the DiskLease whose path has that hash;
 *   <li>a {@code <lease>} element: the resource is its key, the name of a declared DiskLease.
 * </ul>
 */
public final class LibvirtResources {
  private static final Pattern SHA256_HEX = Pattern.compile("^[0-9a-f]{64}$");

  private LibvirtResources() {}

  /** The spec disk an acquire or release of this resource stands for. */
  public static DomainDisk diskFor(String lockspace, String resource, boolean shared, Collection<DiskLease> leases)
      throws LockdRefusal {
    AccessMode mode = shared ? AccessMode.Shared : AccessMode.Exclusive;
    if (lockspace == null || lockspace.isEmpty()) {
      if (!resource.startsWith("/")) {
        throw new LockdRefusal(LockdError.INTERNAL_ERROR,
            "resource '" + resource + "' in the direct lockspace is not an absolute disk path");
      }
      return new DomainDisk(resource, mode);
    }
    if (SHA256_HEX.matcher(resource).matches()) {
      for (DiskLease lease : leases) {
        if (lease.getSpec() != null && lease.getSpec().path != null && resource.equals(sha256(lease.getSpec().path))) {
          return byName(lease.getMetadata().getName(), mode);
        }
      }
      throw new LockdRefusal(LockdError.INTERNAL_ERROR, "no DiskLease has a path whose SHA-256 is " + resource
          + " (indirect lockspace " + lockspace + "): declare the disk's DiskLease with spec.path as libvirt writes it");
    }
    for (DiskLease lease : leases) {
      if (resource.equals(lease.getMetadata().getName())) {
        return byName(resource, mode);
      }
    }
    throw new LockdRefusal(LockdError.INTERNAL_ERROR, "no DiskLease named '" + resource + "' for the <lease> in "
        + "lockspace " + lockspace + ": a <lease> key names a declared DiskLease");
  }

  /** Whether two spec disks are the same resource (mode aside). */
  public static boolean sameDisk(DomainDisk a, DomainDisk b) {
    return a.path != null ? a.path.equals(b.path) : a.leaseName != null && a.leaseName.equals(b.leaseName);
  }

  /** How refusals name a disk: its path, or its declared DiskLease. */
  public static String describe(DomainDisk disk) {
    return disk.path != null ? disk.path : "DiskLease " + disk.leaseName;
  }

  public static String sha256(String path) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(path.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static DomainDisk byName(String leaseName, AccessMode mode) {
    DomainDisk disk = new DomainDisk();
    disk.leaseName = leaseName;
    disk.mode = mode;
    return disk;
  }
}
