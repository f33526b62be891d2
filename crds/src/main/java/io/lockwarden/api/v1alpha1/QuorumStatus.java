package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/**
 * What the deciding operator sees of its quorum. Written by the operator only, when something other than the round
 * changes (the round advances twice a second; it is not worth a write of its own).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QuorumStatus {
  /** Nodes in the member set the operator publishes (every node with a {@code lockwarden-node-} Lease). */
  public Integer members;
  /** Members whose latest renewal acknowledges a round written at most {@link #window} ago. */
  public Integer acknowledging;
  /** The round the operator had written when this status was written. */
  public Long round;
  /** {@code W}: how old an acknowledged round may be and still count ("3s"). */
  public String window;
  /** Nodes dead by their heartbeats that are not fenced because no majority acknowledges; sorted. */
  public List<String> suspectNodes;
  /** Disruption; one entry per type. */
  public List<Condition> conditions;
}
