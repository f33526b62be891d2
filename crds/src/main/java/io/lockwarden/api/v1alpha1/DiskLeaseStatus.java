package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** The arbitration record of one disk. Written by the operator only. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DiskLeaseStatus {
  public LeaseState state;
  /** The fencing token: grows by one with every grant, never goes back. Releases do not change it. */
  public Long epoch;
  public List<LeaseHolder> holders = new ArrayList<>();
  public List<LeaseWaiter> waiting = new ArrayList<>();
  /** Size of {@link #holders}, for the printer column. */
  public Integer holderCount;
  /** Size of {@link #waiting}, for the printer column. */
  public Integer waitingCount;
  /** At least Ready and Contended. */
  public List<Condition> conditions = new ArrayList<>();
  public Long observedGeneration;
}
