package io.lockwarden.agent.lockd;

/**
 * The payload of an error reply, virnetprotocol.x {@code virNetMessageError}: {@code int code; int domain; string
 * *message; int level; remote_domain dom; string *str1, *str2, *str3; int int1; int int2; remote_network net}.
 * libvirt's client raises it as the caller's error with {@code message} verbatim; {@code dom} and {@code net} are never
 * set by virtlockd and are written as absent.
 */
record LockdErrorPayload(int code, int domain, String message, int level, String str1, String str2, String str3,
    int int1, int int2) {
  /** VIR_ERR_ERROR. */
  static final int LEVEL_ERROR = 2;
  /** REMOTE_STRING_MAX: the bound of strings in RPC error payloads. */
  static final int STRING_MAX = 4 * 1024 * 1024;

  /** As virtlockd's virReportError fills it: str1 the format, str2 the detail, int1 and int2 -1. */
  static LockdErrorPayload of(LockdError error, String detail) {
    return new LockdErrorPayload(error.code(), error.domain(), error.message(detail), LEVEL_ERROR, error.template(),
        detail, null, -1, -1);
  }

  static LockdErrorPayload of(LockdRefusal refusal) {
    return of(refusal.error(), String.valueOf(refusal.getMessage()));
  }

  /** As virtlockd's flag check fills it: its own message, str1 the function, str2 "flags", int1 and int2 0. */
  static LockdErrorPayload unsupportedFlags(LockdProcedure procedure, int flags) {
    String function = "lockd " + procedure;
    return new LockdErrorPayload(LockdError.INVALID_ARG.code(), LockdError.INVALID_ARG.domain(),
        String.format("unsupported flags (0x%x) in function %s", flags, function), LEVEL_ERROR, function, "flags",
        null, 0, 0);
  }

  byte[] encode() {
    return new XdrWriter().writeInt(code).writeInt(domain).writeOptionalString(message).writeInt(level)
        .writeInt(0) // dom: absent
        .writeOptionalString(str1).writeOptionalString(str2).writeOptionalString(str3).writeInt(int1).writeInt(int2)
        .writeInt(0) // net: absent
        .toByteArray();
  }

  static LockdErrorPayload decode(byte[] payload) throws XdrException {
    XdrReader in = new XdrReader(payload);
    int code = in.readInt();
    int domain = in.readInt();
    String message = in.readOptionalString(STRING_MAX);
    int level = in.readInt();
    if (in.readPresent()) { // remote_nonnull_domain: name, uuid, id
      in.readString(STRING_MAX);
      in.readFixedOpaque(16);
      in.readInt();
    }
    String str1 = in.readOptionalString(STRING_MAX);
    String str2 = in.readOptionalString(STRING_MAX);
    String str3 = in.readOptionalString(STRING_MAX);
    int int1 = in.readInt();
    int int2 = in.readInt();
    if (in.readPresent()) { // remote_nonnull_network: name, uuid
      in.readString(STRING_MAX);
      in.readFixedOpaque(16);
    }
    return new LockdErrorPayload(code, domain, message, level, str1, str2, str3, int1, int2);
  }
}
