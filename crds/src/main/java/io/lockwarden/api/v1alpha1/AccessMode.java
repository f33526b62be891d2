package io.lockwarden.api.v1alpha1;

/**
 * How a domain uses a disk: the seed's resource flags. No flag is Exclusive (read-write, one holder);
 * VIR_LOCK_MANAGER_RESOURCE_SHARED is Shared (read-write, many holders); VIR_LOCK_MANAGER_RESOURCE_READONLY is ReadOnly.
 */
public enum AccessMode {
  Exclusive,
  Shared,
  ReadOnly;

  /**
   * The compatibility table: Exclusive conflicts with everything, Shared and ReadOnly mix freely. A missing mode (a
   * malformed record) counts as Exclusive: unknown must never look compatible.
   */
  public boolean compatibleWith(AccessMode other) {
    return this != Exclusive && other != null && other != Exclusive;
  }
}
