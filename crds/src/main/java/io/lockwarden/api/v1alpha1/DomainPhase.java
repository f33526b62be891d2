package io.lockwarden.api.v1alpha1;

public enum DomainPhase {
  /** Accepted, not yet placed or granted. */
  Pending,
  /** Waiting for one or more leases. */
  Waiting,
  /** Granted; the supervisor is taking local locks and starting the process. */
  Starting,
  Running,
  Migrating,
  /** Stopped by the supervisor (SIGSTOP) because its right to the disks could not be proven. */
  Paused,
  Stopping,
  Stopped,
  /** Its node was declared dead and its grants revoked. */
  Fenced,
  Failed
}
