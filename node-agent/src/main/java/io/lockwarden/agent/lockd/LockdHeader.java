package io.lockwarden.agent.lockd;

/**
 * libvirt's RPC header (virnetprotocol.x {@code virNetMessageHeader}): six big-endian 32-bit words after the length.
 * Fields stay raw ints: a header must be representable whatever a peer put in it, so that a reply can echo it.
 */
record LockdHeader(int program, int version, int procedure, int type, int serial, int status) {
  static final int SIZE = 24;
  /** virtlockd's program number and version (lock_protocol.x). */
  static final int PROGRAM = 0x0EA7BEEF;
  static final int VERSION = 1;

  /** Message types (virNetMessageType); lockd clients send CALL and expect REPLY. */
  static final int CALL = 0;
  static final int REPLY = 1;
  /** A CALL with file descriptors attached; nothing in lockd takes descriptors, virtlockd drops such a connection. */
  static final int CALL_WITH_FDS = 4;

  /** Statuses (virNetMessageStatus). */
  static final int OK = 0;
  static final int ERROR = 1;

  static LockdHeader call(int procedure, int serial) {
    return new LockdHeader(PROGRAM, VERSION, procedure, CALL, serial, OK);
  }

  /** The reply to this call: program, version, procedure and serial echoed, as libvirt's client checks them. */
  LockdHeader reply(int replyStatus) {
    return new LockdHeader(program, version, procedure, REPLY, serial, replyStatus);
  }

  boolean isLockd() {
    return program == PROGRAM && version == VERSION;
  }

  static LockdHeader read(XdrReader in) throws XdrException {
    return new LockdHeader(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt());
  }

  void write(XdrWriter out) {
    out.writeInt(program).writeInt(version).writeInt(procedure).writeInt(type).writeInt(serial).writeInt(status);
  }

  @Override
  public String toString() {
    return String.format("prog=0x%08x vers=%d proc=%d type=%d serial=%d status=%d", program, version, procedure,
        type, Integer.toUnsignedLong(serial), status);
  }
}
