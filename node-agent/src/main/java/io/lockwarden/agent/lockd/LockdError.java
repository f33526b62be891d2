package io.lockwarden.agent.lockd;

/**
 * virtlockd's error codes and domains as libvirt's client expects them (code, domain), with the prefix libvirt puts
 * before the detail ({@code virerror.h}, {@code virerror.c}). Each pair was observed from Debian 12's virtlockd 9.0 by
 * LockdWireIT: the dispatcher's own checks report in the RPC domain, the lock table's verdicts in the LOCKSPACE domain.
 */
public enum LockdError {
  /** Dispatcher-level failure ("Lockspace for path ... does not exist"); also what a service's RuntimeException becomes. */
  INTERNAL_ERROR(1, Domain.RPC, "internal error: %s"),
  /** Flag bits a procedure does not know (virtlockd checks them before anything else). */
  INVALID_ARG(8, Domain.RPC, "invalid argument: %s"),
  /** Any call on a connection after RESTRICT. */
  OPERATION_DENIED(29, Domain.RPC, "operation forbidden: %s"),
  /** Protocol trouble: unknown program, version or procedure, undecodable payload, unexpected status. */
  RPC(39, Domain.RPC, "%s"),
  /** A call before REGISTER, a REGISTER with id 0, NEW of the default lockspace. */
  OPERATION_INVALID(55, Domain.RPC, "Requested operation is not valid: %s"),
  /** What virtlockd would do but lockwarden does not (NEW, CREATE_RESOURCE, DELETE_RESOURCE: files on one host). */
  OPERATION_UNSUPPORTED(84, Domain.RPC, "Operation not supported: %s"),
  /** The resource is held by someone else (virtlockd: also by the same owner; also RELEASE of an unheld one). */
  RESOURCE_BUSY(87, Domain.LOCKSPACE, "resource busy: %s"),
  /** The lock table's internal error: virtlockd's answer to a RELEASE of a resource another owner holds. */
  LOCKSPACE_INTERNAL_ERROR(1, Domain.LOCKSPACE, "internal error: %s");

  /** libvirt's error domains (virErrorDomain) that virtlockd answers with. */
  enum Domain {
    RPC(7),
    LOCKING(42),
    LOCKSPACE(51);

    final int number;

    Domain(int number) {
      this.number = number;
    }
  }

  private final int code;
  private final Domain domain;
  private final String template;

  LockdError(int code, Domain domain, String template) {
    this.code = code;
    this.domain = domain;
    this.template = template;
  }

  public int code() {
    return code;
  }

  public int domain() {
    return domain.number;
  }

  /** libvirt's format for this code with a detail; travels as {@code str1} of the error payload. */
  String template() {
    return template;
  }

  /** The message the client shows: the template applied to the detail. */
  String message(String detail) {
    return template.replace("%s", detail);
  }
}
