package io.lockwarden.agent.lockd;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * One RPC message on the stream: a 4-byte big-endian length that counts itself, the header, the XDR payload
 * (virnetmessage.c). A length below 4, a body (what follows the length word) above 32 MiB, or a message too short
 * for its header cannot be answered: virtlockd drops the connection without a reply, and so does the reader's caller.
 */
record LockdFrame(LockdHeader header, byte[] payload) {
  static final int LENGTH_SIZE = 4;
  /**
   * The largest length word: VIR_NET_MESSAGE_MAX (32 MiB) bounds what follows the length word, so the length itself
   * may be 4 more (virNetMessageDecodeLength; LockdWireIT saw virtlockd wait for the rest of such a message).
   */
  static final int MAX_LENGTH = LENGTH_SIZE + 32 * 1024 * 1024;
  private static final int READ_CHUNK = 64 * 1024;

  /** A stream that lost its framing; the connection must go. */
  static final class BadFrame extends IOException {
    private static final long serialVersionUID = 1L;

    BadFrame(String message) {
      super(message);
    }
  }

  /**
   * Reads one message.
   *
   * @return the message, or null at a clean end of stream (between messages)
   * @throws BadFrame if the length is out of bounds or leaves no room for the header
   * @throws EOFException if the stream ends inside a message
   */
  static LockdFrame read(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int first = in.read();
    if (first < 0) {
      return null;
    }
    byte[] rest = new byte[LENGTH_SIZE - 1];
    in.readFully(rest);
    long length = Integer.toUnsignedLong((first << 24) | ((rest[0] & 0xFF) << 16) | ((rest[1] & 0xFF) << 8)
        | (rest[2] & 0xFF));
    if (length < LENGTH_SIZE || length > MAX_LENGTH) {
      throw new BadFrame("message length " + length + " is outside [" + LENGTH_SIZE + ", " + MAX_LENGTH + "]");
    }
    if (length < LENGTH_SIZE + LockdHeader.SIZE) {
      throw new BadFrame("message length " + length + " leaves no room for the " + LockdHeader.SIZE + "-byte header");
    }
    byte[] body = new byte[(int) length - LENGTH_SIZE];
    for (int offset = 0; offset < body.length; offset += READ_CHUNK) {
      // In pieces: jnr-unixsocket copies through a fresh buffer the size of each read request.
      in.readFully(body, offset, Math.min(READ_CHUNK, body.length - offset));
    }
    XdrReader reader = new XdrReader(body);
    try {
      LockdHeader header = LockdHeader.read(reader);
      byte[] payload = new byte[reader.remaining()];
      System.arraycopy(body, LockdHeader.SIZE, payload, 0, payload.length);
      return new LockdFrame(header, payload);
    } catch (XdrException e) {
      throw new IllegalStateException("a header fits in " + body.length + " bytes", e);
    }
  }

  /** The success reply to {@code call}: its header alone, 28 bytes in all. */
  static LockdFrame ok(LockdHeader call) {
    return new LockdFrame(call.reply(LockdHeader.OK), new byte[0]);
  }

  static LockdFrame error(LockdHeader call, LockdErrorPayload error) {
    return new LockdFrame(call.reply(LockdHeader.ERROR), error.encode());
  }

  /** The bytes on the wire, length word first. */
  byte[] encode() {
    XdrWriter out = new XdrWriter().writeInt(LENGTH_SIZE + LockdHeader.SIZE + payload.length);
    header.write(out);
    return out.writeBytes(payload).toByteArray();
  }
}
