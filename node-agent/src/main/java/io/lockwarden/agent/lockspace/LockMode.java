package io.lockwarden.agent.lockspace;

import io.lockwarden.api.v1alpha1.AccessMode;

/** The fcntl lock type a grant's mode takes on byte 0, as virtlockd does: a write lock only for Exclusive. */
public enum LockMode {
  WRITE,
  READ;

  public static LockMode of(AccessMode mode) {
    return mode == AccessMode.Exclusive ? WRITE : READ;
  }
}
