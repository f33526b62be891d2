package io.lockwarden.agent.lockd;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads XDR as libvirt's RPC writes it. Lenient where glibc's XDR is (padding bytes are skipped, not checked; bytes
 * after the last field are left alone) and strict where Java must be: a string is valid UTF-8 without NUL, because a
 * C string would end at the NUL and two different byte strings must never name one resource.
 */
final class XdrReader {
  private final byte[] data;
  private int position;
  private final int end;

  XdrReader(byte[] data) {
    this(data, 0, data.length);
  }

  XdrReader(byte[] data, int offset, int length) {
    this.data = data;
    this.position = offset;
    this.end = offset + length;
  }

  int readInt() throws XdrException {
    need(4, "a 32-bit word");
    int value = ((data[position] & 0xFF) << 24) | ((data[position + 1] & 0xFF) << 16)
        | ((data[position + 2] & 0xFF) << 8) | (data[position + 3] & 0xFF);
    position += 4;
    return value;
  }

  long readUnsigned() throws XdrException {
    return Integer.toUnsignedLong(readInt());
  }

  byte[] readFixedOpaque(int length) throws XdrException {
    int padded = (length + 3) & ~3;
    need(padded, length + " bytes of opaque data");
    byte[] bytes = new byte[length];
    System.arraycopy(data, position, bytes, 0, length);
    position += padded;
    return bytes;
  }

  String readString(int max) throws XdrException {
    long length = readUnsigned();
    if (length > max) {
      throw new XdrException("string of " + length + " bytes is longer than " + max);
    }
    byte[] bytes = readFixedOpaque((int) length);
    for (byte b : bytes) {
      if (b == 0) {
        throw new XdrException("string contains a NUL byte");
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new XdrException("string is not UTF-8");
    }
  }

  /** An XDR optional: a 0/1 word, then the value if 1. */
  boolean readPresent() throws XdrException {
    int flag = readInt();
    if (flag != 0 && flag != 1) {
      throw new XdrException("optional marker " + flag + " is neither 0 nor 1");
    }
    return flag == 1;
  }

  String readOptionalString(int max) throws XdrException {
    return readPresent() ? readString(max) : null;
  }

  int remaining() {
    return end - position;
  }

  private void need(int bytes, String what) throws XdrException {
    if (end - position < bytes) {
      throw new XdrException("truncated: " + what + " needs " + bytes + " bytes, " + (end - position) + " left");
    }
  }
}
