package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/** One granted holder of a DiskLease. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LeaseHolder {
  /** The holding domain, as namespace/name. */
  public String domain;
  /** The holding domain's metadata.uid, so a re-created domain of the same name is a different holder. */
  public String uid;
  public String node;
  public AccessMode mode;
  /** The fencing token of this grant: the lease's epoch when it was granted. */
  public Long epoch;
  public String grantedAt;
}
