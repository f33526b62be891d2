package io.lockwarden.agent.lockd;

/** A refusal the client sees as virsh's "error:" line. */
public final class LockdRefusal extends Exception {
  private final LockdError error;

  public LockdRefusal(LockdError error, String message) {
    super(message);
    this.error = error;
  }

  public LockdError error() {
    return error;
  }
}
