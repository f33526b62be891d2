package io.lockwarden.agent.lockd;

import java.util.Optional;

/** The lockd program's procedures (lock_protocol.x) with the flag bits each accepts. */
public enum LockdProcedure {
  REGISTER(1, 0),
  RESTRICT(2, 0),
  NEW(3, 0),
  CREATE_RESOURCE(4, 0),
  DELETE_RESOURCE(5, 0),
  ACQUIRE_RESOURCE(6, LockdProcedure.SHARED | LockdProcedure.AUTOCREATE),
  RELEASE_RESOURCE(7, 0),
  /** Has no flags field at all. */
  CREATE_LOCKSPACE(8, 0);

  /** ACQUIRE_RESOURCE's flag bits. */
  static final int SHARED = 1;
  static final int AUTOCREATE = 2;

  private final int number;
  private final int allowedFlags;

  LockdProcedure(int number, int allowedFlags) {
    this.number = number;
    this.allowedFlags = allowedFlags;
  }

  public int number() {
    return number;
  }

  /** Flag bits outside this mask are refused with {@link LockdError#INVALID_ARG}, before any other check. */
  int allowedFlags() {
    return allowedFlags;
  }

  static Optional<LockdProcedure> of(int number) {
    for (LockdProcedure procedure : values()) {
      if (procedure.number == number) {
        return Optional.of(procedure);
      }
    }
    return Optional.empty();
  }
}
