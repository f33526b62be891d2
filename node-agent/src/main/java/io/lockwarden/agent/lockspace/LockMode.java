package io.lockwarden.agent.lockspace;

/** The fcntl lock type a grant's mode takes on byte 0, as virtlockd does: a write lock only for Exclusive. */
public enum LockMode {
  WRITE,
  READ
}
