package io.lockwarden.api.v1alpha1;

/** The condition of a {@link Quorum}, shared by the operator and the tests. */
public final class QuorumConditions {
  /**
   * True while some node is dead by its heartbeats but no majority of the member set acknowledges the operator's
   * rounds: the operator fences no one (docs/safety.md, TIME-4).
   */
  public static final String DISRUPTION = "Disruption";

  /** The reasons of {@link #DISRUPTION}. */
  public enum Reason {
    /** True: suspects, and no majority acknowledging. */
    MajorityNotAcknowledging,
    /** False: a majority acknowledges, or nobody waits to be fenced. */
    MajorityAcknowledging
  }

  private QuorumConditions() {}
}
