package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class XdrTest {
  @Test
  void wordsAreBigEndianAndUnsignedValuesKeepTheirHighBit() throws Exception {
    byte[] bytes = new XdrWriter().writeInt(0x0EA7BEEF).writeInt(-1).writeUnsigned(0xFFFF_FFFEL).toByteArray();
    assertThat(Hex.of(bytes)).isEqualTo("0ea7beef" + "ffffffff" + "fffffffe");
    XdrReader in = new XdrReader(bytes);
    assertThat(in.readInt()).isEqualTo(0x0EA7BEEF);
    assertThat(in.readUnsigned()).isEqualTo(0xFFFF_FFFFL);
    assertThat(in.readUnsigned()).isEqualTo(0xFFFF_FFFEL);
    assertThat(in.remaining()).isZero();
    assertThatThrownBy(() -> new XdrWriter().writeUnsigned(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new XdrWriter().writeUnsigned(1L << 32)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void stringsAreLengthBytesAndZeroPaddingToFour() throws Exception {
    assertThat(Hex.of(new XdrWriter().writeString("").toByteArray())).isEqualTo("00000000");
    assertThat(Hex.of(new XdrWriter().writeString("a").toByteArray())).isEqualTo("00000001" + "61000000");
    assertThat(Hex.of(new XdrWriter().writeString("abcd").toByteArray())).isEqualTo("00000004" + "61626364");
    assertThat(Hex.of(new XdrWriter().writeString("abcde").toByteArray()))
        .isEqualTo("00000005" + "6162636465000000");
    assertThat(Hex.of(new XdrWriter().writeString("é").toByteArray())).as("UTF-8 bytes are counted")
        .isEqualTo("00000002" + "c3a90000");
    assertThat(new XdrReader(Hex.bytes("00000005 6162636465000000")).readString(16)).isEqualTo("abcde");
  }

  @Test
  void optionalsAreAPresenceWordThenTheValue() throws Exception {
    byte[] bytes = new XdrWriter().writeOptionalString(null).writeOptionalString("x").toByteArray();
    assertThat(Hex.of(bytes)).isEqualTo("00000000" + "00000001" + "00000001" + "78000000");
    XdrReader in = new XdrReader(bytes);
    assertThat(in.readOptionalString(16)).isNull();
    assertThat(in.readOptionalString(16)).isEqualTo("x");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00000002")).readOptionalString(16))
        .isInstanceOf(XdrException.class).hasMessageContaining("neither 0 nor 1");
  }

  @Test
  void theLongestStringIs65536BytesAndOneMoreIsRefusedBeforeItIsRead() throws Exception {
    String longest = "a".repeat(XdrWriter.STRING_MAX);
    byte[] bytes = new XdrWriter().writeString(longest).toByteArray();
    assertThat(new XdrReader(bytes).readString(LockdCall.STRING_MAX)).isEqualTo(longest);
    assertThatThrownBy(() -> new XdrWriter().writeString(longest + "a")).isInstanceOf(IllegalArgumentException.class);
    // The length alone is enough to refuse: no 65537 bytes need to follow.
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00010001")).readString(LockdCall.STRING_MAX))
        .isInstanceOf(XdrException.class).hasMessageContaining("longer than 65536");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("ffffffff")).readString(LockdCall.STRING_MAX))
        .isInstanceOf(XdrException.class).hasMessageContaining("longer than");
  }

  @Test
  void truncatedInputIsAnXdrExceptionNeverAnIndexError() {
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("000000")).readInt()).isInstanceOf(XdrException.class)
        .hasMessageContaining("truncated");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00000005 61626364")).readString(16))
        .isInstanceOf(XdrException.class).hasMessageContaining("truncated");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00000005 6162636465")).readString(16))
        .as("the padding must be there too").isInstanceOf(XdrException.class);
    assertThatThrownBy(() -> new XdrReader(new byte[15]).readFixedOpaque(16)).isInstanceOf(XdrException.class);
  }

  @Test
  void paddingIsSkippedUncheckedAsGlibcDoesButNulAndBadUtf8AreRefused() throws Exception {
    assertThat(new XdrReader(Hex.bytes("00000001 61626364")).readString(16)).isEqualTo("a");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00000003 61006200")).readString(16))
        .isInstanceOf(XdrException.class).hasMessageContaining("NUL");
    assertThatThrownBy(() -> new XdrReader(Hex.bytes("00000002 c3280000")).readString(16))
        .isInstanceOf(XdrException.class).hasMessageContaining("UTF-8");
  }

  @Test
  void aReaderCanStartInsideAnArray() throws Exception {
    XdrReader in = new XdrReader(Hex.bytes("ffffffff 00000007 ffffffff"), 4, 4);
    assertThat(in.readInt()).isEqualTo(7);
    assertThatThrownBy(in::readInt).isInstanceOf(XdrException.class);
  }
}
