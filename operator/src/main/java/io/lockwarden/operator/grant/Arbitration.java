package io.lockwarden.operator.grant;

import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.util.List;

/**
 * The outcome of one arbitration round of one DiskLease: the status to write, and what changed, for events,
 * metrics and logs.
 */
public record Arbitration(DiskLeaseStatus status, List<LeaseHolder> granted, List<Removal> removed,
    List<Move> moved) {

  public Arbitration(DiskLeaseStatus status, List<LeaseHolder> granted, List<Removal> removed) {
    this(status, granted, removed, List.of());
  }

  public record Removal(LeaseHolder holder, String reason) {}

  /** A migration hand-off: the grant left {@code from} for {@code to}, which holds it at a new epoch. */
  public record Move(LeaseHolder from, LeaseHolder to) {}
}
