package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/** One domain queued for a DiskLease, in arrival order. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LeaseWaiter {
  /** The waiting domain, as namespace/name. */
  public String domain;
  public String uid;
  public AccessMode mode;
  public String since;
  /** Why it is not granted yet, e.g. HeldExclusive or QueuedBehindEarlierRequest. */
  public String reason;
}
