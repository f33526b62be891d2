package io.lockwarden.api.v1alpha1;

public enum DomainLeaseState {
  Waiting,
  /** Granted by the operator to a running domain (hot-plug); its supervisor has not taken the local lock yet. */
  Locking,
  Granted,
  Released
}
