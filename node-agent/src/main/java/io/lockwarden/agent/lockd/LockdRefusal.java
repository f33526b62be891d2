package io.lockwarden.agent.lockd;

/**
 * A refusal the client sees as virsh's "error:" line. The wire message is the error's libvirt prefix followed by
 * {@code message} ("resource busy: ..."), so the message should name what refused and why (holder, node, epoch).
 */
public final class LockdRefusal extends Exception {
  private static final long serialVersionUID = 1L;

  private final LockdError error;

  public LockdRefusal(LockdError error, String message) {
    super(message);
    this.error = error;
  }

  public LockdError error() {
    return error;
  }
}
