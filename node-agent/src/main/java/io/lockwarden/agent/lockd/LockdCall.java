package io.lockwarden.agent.lockd;

import java.nio.ByteBuffer;
import java.util.UUID;

/** The decoded arguments of one lockd call, one record per procedure (lock_protocol.x). */
sealed interface LockdCall {
  /** VIR_LOCK_SPACE_PROTOCOL_STRING_MAX. */
  int STRING_MAX = 65536;
  /** VIR_UUID_BUFLEN: the uuid travels as 16 raw bytes, no length. */
  int UUID_BYTES = 16;

  LockdProcedure procedure();

  /** The flag bits as sent; CREATE_LOCKSPACE has none. */
  int flags();

  /** The XDR payload, as libvirt's plugin writes it. */
  byte[] encode();

  /** The arguments as {@code key=value} fields for a log line. */
  String describe();

  record Register(LockOwner owner, int flags) implements LockdCall {
    public LockdProcedure procedure() {
      return LockdProcedure.REGISTER;
    }

    public byte[] encode() {
      ByteBuffer uuid = ByteBuffer.allocate(UUID_BYTES).putLong(owner.uuid().getMostSignificantBits())
          .putLong(owner.uuid().getLeastSignificantBits());
      return new XdrWriter().writeFixedOpaque(uuid.array()).writeString(owner.name()).writeUnsigned(owner.id())
          .writeUnsigned(owner.pid()).writeInt(flags).toByteArray();
    }

    public String describe() {
      return "owner=" + quote(owner.name()) + " uuid=" + owner.uuid() + " id=" + owner.id() + " pid=" + owner.pid();
    }
  }

  record Restrict(int flags) implements LockdCall {
    public LockdProcedure procedure() {
      return LockdProcedure.RESTRICT;
    }

    public byte[] encode() {
      return new XdrWriter().writeInt(flags).toByteArray();
    }

    public String describe() {
      return "";
    }
  }

  record New(String path, int flags) implements LockdCall {
    public LockdProcedure procedure() {
      return LockdProcedure.NEW;
    }

    public byte[] encode() {
      return new XdrWriter().writeString(path).writeInt(flags).toByteArray();
    }

    public String describe() {
      return "lockspace=" + quote(path);
    }
  }

  /** The four procedures with a lockspace, a resource and flags. */
  record Resource(LockdProcedure procedure, String lockspace, String resource, int flags) implements LockdCall {
    public boolean shared() {
      return (flags & LockdProcedure.SHARED) != 0;
    }

    public boolean autocreate() {
      return (flags & LockdProcedure.AUTOCREATE) != 0;
    }

    public byte[] encode() {
      return new XdrWriter().writeString(lockspace).writeString(resource).writeInt(flags).toByteArray();
    }

    public String describe() {
      String base = "lockspace=" + quote(lockspace) + " resource=" + quote(resource);
      return procedure == LockdProcedure.ACQUIRE_RESOURCE
          ? base + " shared=" + shared() + " autocreate=" + autocreate() : base;
    }
  }

  record CreateLockspace(String path) implements LockdCall {
    public LockdProcedure procedure() {
      return LockdProcedure.CREATE_LOCKSPACE;
    }

    public int flags() {
      return 0;
    }

    public byte[] encode() {
      return new XdrWriter().writeString(path).toByteArray();
    }

    public String describe() {
      return "lockspace=" + quote(path);
    }
  }

  /** Decodes {@code procedure}'s arguments; bytes after the last field are ignored, as virtlockd ignores them. */
  static LockdCall decode(LockdProcedure procedure, byte[] payload) throws XdrException {
    XdrReader in = new XdrReader(payload);
    return switch (procedure) {
      case REGISTER -> {
        ByteBuffer uuid = ByteBuffer.wrap(in.readFixedOpaque(UUID_BYTES));
        LockOwner owner = new LockOwner(new UUID(uuid.getLong(), uuid.getLong()), in.readString(STRING_MAX),
            in.readUnsigned(), in.readUnsigned());
        yield new Register(owner, in.readInt());
      }
      case RESTRICT -> new Restrict(in.readInt());
      case NEW -> new New(in.readString(STRING_MAX), in.readInt());
      case CREATE_RESOURCE, DELETE_RESOURCE, ACQUIRE_RESOURCE, RELEASE_RESOURCE ->
          new Resource(procedure, in.readString(STRING_MAX), in.readString(STRING_MAX), in.readInt());
      case CREATE_LOCKSPACE -> new CreateLockspace(in.readString(STRING_MAX));
    };
  }

  /** A value for a log line: quoted, with quotes, backslashes and line breaks escaped. */
  static String quote(String value) {
    return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "\\r") + '"';
  }
}
