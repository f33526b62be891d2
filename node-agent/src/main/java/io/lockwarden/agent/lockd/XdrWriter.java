package io.lockwarden.agent.lockd;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes XDR (RFC 4506) as libvirt's RPC uses it: big-endian 32-bit words, everything padded to 4 with zeros. */
final class XdrWriter {
  /** libvirt's lockd strings and RPC strings are bounded; the larger bound of the two is lockd's. */
  static final int STRING_MAX = 65536;

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  XdrWriter writeInt(int value) {
    out.write(value >>> 24);
    out.write(value >>> 16);
    out.write(value >>> 8);
    out.write(value);
    return this;
  }

  /** An XDR {@code unsigned int}, held in a long so that values past 2^31 keep their meaning. */
  XdrWriter writeUnsigned(long value) {
    if (value < 0 || value > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("not an unsigned 32-bit value: " + value);
    }
    return writeInt((int) value);
  }

  /** Fixed-length opaque data: the bytes, no length, padding to 4. */
  XdrWriter writeFixedOpaque(byte[] bytes) {
    out.writeBytes(bytes);
    pad(bytes.length);
    return this;
  }

  XdrWriter writeString(String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > STRING_MAX) {
      throw new IllegalArgumentException("string of " + bytes.length + " bytes is longer than " + STRING_MAX);
    }
    writeInt(bytes.length);
    return writeFixedOpaque(bytes);
  }

  /** An XDR optional ({@code string *}): a 0/1 word, then the value if present. */
  XdrWriter writeOptionalString(String value) {
    writeInt(value == null ? 0 : 1);
    return value == null ? this : writeString(value);
  }

  XdrWriter writeBytes(byte[] raw) {
    out.writeBytes(raw);
    return this;
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }

  private void pad(int length) {
    for (int i = length; i % 4 != 0; i++) {
      out.write(0);
    }
  }
}
