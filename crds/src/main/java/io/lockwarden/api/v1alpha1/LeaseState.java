package io.lockwarden.api.v1alpha1;

/** What a DiskLease is granted as right now; derived from its holders. */
public enum LeaseState {
  Free,
  Exclusive,
  Shared,
  ReadOnly
}
