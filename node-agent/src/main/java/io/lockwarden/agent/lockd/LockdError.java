package io.lockwarden.agent.lockd;

/** virtlockd's error codes and domains as libvirt's client expects them (code, domain). */
public enum LockdError {
  INTERNAL_ERROR(1, 51),
  RESOURCE_BUSY(87, 51),
  OPERATION_DENIED(29, 42),
  OPERATION_INVALID(55, 42),
  RPC(39, 7);

  private final int code;
  private final int domain;

  LockdError(int code, int domain) {
    this.code = code;
    this.domain = domain;
  }

  public int code() {
    return code;
  }

  public int domain() {
    return domain;
  }
}
