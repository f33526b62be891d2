package io.lockwarden.agent.domain;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.ReleasedGrant;

/** One grant a DiskLease records for a domain on a node: the right to lock {@code path} in {@code mode}. */
public record Grant(String leaseName, String leaseUid, String path, AccessMode mode, long epoch) {

  static Grant of(DiskLease lease, LeaseHolder holder) {
    return new Grant(lease.getMetadata().getName(), lease.getMetadata().getUid(), lease.getSpec().path, holder.mode,
        holder.epoch);
  }

  /** Exclusive writes; Shared and ReadOnly share a read lock, as virtlockd does. */
  public LockMode lockMode() {
    return mode == AccessMode.Exclusive ? LockMode.WRITE : LockMode.READ;
  }

  /** How the supervisor's lock lines and the agent's bookkeeping name a grant. */
  public String key() {
    return leaseName + "," + epoch;
  }

  ReleasedGrant released() {
    return new ReleasedGrant(leaseName, leaseUid, epoch);
  }
}
