package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/** One of the domain's disks as the operator sees it: which lease, and whether it is granted. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DomainLease {
  public String path;
  public String leaseName;
  /** The lease's metadata.uid, which the agent names in status.released. */
  public String leaseUid;
  public AccessMode mode;
  public DomainLeaseState state;
  /** The fencing token of the grant, when granted. */
  public Long epoch;
}
