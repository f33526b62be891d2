package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import org.junit.jupiter.api.Test;

/** Framing, header, and the two replies, byte for byte (virnetprotocol.x, virnetmessage.c). */
class LockdFrameTest {
  static final String HEADER_ACQUIRE_5 = "0ea7beef 00000001 00000006 00000000 00000005 00000000";

  @Test
  void aCallIsItsLengthCountingItselfThenTheHeaderThenThePayload() throws Exception {
    LockdCall call = new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "", "/disk", 0);
    LockdFrame frame = new LockdFrame(LockdHeader.call(6, 5), call.encode());
    String expected = "00000030" + HEADER_ACQUIRE_5 + "00000000 00000005 2f6469736b000000 00000000";
    assertThat(Hex.of(frame.encode())).isEqualTo(Hex.of(Hex.bytes(expected)));

    LockdFrame read = read(Hex.bytes(expected));
    assertThat(read.header()).isEqualTo(new LockdHeader(LockdHeader.PROGRAM, 1, 6, LockdHeader.CALL, 5, 0));
    assertThat(LockdCall.decode(LockdProcedure.ACQUIRE_RESOURCE, read.payload())).isEqualTo(call);
  }

  @Test
  void theSuccessReplyIsTheEchoedHeaderAloneIn28Bytes() {
    byte[] reply = LockdFrame.ok(LockdHeader.call(6, 5)).encode();
    assertThat(reply).hasSize(28);
    assertThat(Hex.of(reply)).isEqualTo(Hex.of(Hex.bytes(
        "0000001c 0ea7beef 00000001 00000006 00000001 00000005 00000000")));
  }

  @Test
  void theErrorReplyCarriesVirNetMessageErrorWithItsOptionals() {
    byte[] reply = LockdFrame.error(LockdHeader.call(6, 5), LockdErrorPayload.of(LockdError.RESOURCE_BUSY, "x"))
        .encode();
    String payload = "00000057" // code 87
        + "00000033" // domain 51: LOCKSPACE
        + "00000001 00000010 7265736f7572636520627573793a2078" // message "resource busy: x"
        + "00000002" // level ERROR
        + "00000000" // dom: absent
        + "00000001 00000011 7265736f7572636520627573793a202573000000" // str1 "resource busy: %s"
        + "00000001 00000001 78000000" // str2 "x"
        + "00000000" // str3: absent
        + "ffffffff ffffffff" // int1, int2
        + "00000000"; // net: absent
    String header = "0ea7beef 00000001 00000006 00000001 00000005 00000001"; // REPLY, ERROR
    byte[] expected = Hex.bytes(header + payload);
    assertThat(Hex.of(reply)).isEqualTo(String.format("%08x", expected.length + 4) + Hex.of(expected));
  }

  @Test
  void aReplyEchoesWhateverProgramVersionProcedureAndSerialTheCallHad() {
    LockdHeader odd = new LockdHeader(0x12345678, 2, 99, LockdHeader.CALL, -2, 0);
    assertThat(odd.reply(LockdHeader.ERROR)).isEqualTo(new LockdHeader(0x12345678, 2, 99, 1, -2, 1));
  }

  @Test
  void lengthsBelowFourOrWithABodyAbove32MibOrWithoutRoomForAHeaderAreBadFrames() {
    assertThatThrownBy(() -> read(Hex.bytes("00000003"))).isInstanceOf(LockdFrame.BadFrame.class);
    assertThatThrownBy(() -> read(Hex.bytes("00000000"))).isInstanceOf(LockdFrame.BadFrame.class);
    assertThatThrownBy(() -> read(Hex.bytes("ffffffff"))).isInstanceOf(LockdFrame.BadFrame.class);
    assertThatThrownBy(() -> read(Hex.bytes("02000005"))).as("a body of 32 MiB + 1")
        .isInstanceOf(LockdFrame.BadFrame.class).hasMessageContaining("33554437");
    assertThatThrownBy(() -> read(Hex.bytes("00000004"))).isInstanceOf(LockdFrame.BadFrame.class)
        .hasMessageContaining("no room");
    assertThatThrownBy(() -> read(Hex.bytes("0000001b 000000000000000000000000000000000000000000")))
        .isInstanceOf(LockdFrame.BadFrame.class);
  }

  @Test
  void aBodyOfExactly32MibIsStillAMessage() throws Exception {
    int length = 4 + 32 * 1024 * 1024;
    assertThat(LockdFrame.MAX_LENGTH).isEqualTo(length);
    InputStream stream = new SequenceInputStream(new ByteArrayInputStream(Hex.bytes("02000004" + HEADER_ACQUIRE_5)),
        new ByteArrayInputStream(new byte[length - 28]));
    LockdFrame frame = LockdFrame.read(stream);
    assertThat(frame.payload()).hasSize(length - 28);
  }

  @Test
  void endOfStreamBetweenMessagesIsCleanAndInsideOneIsNot() throws Exception {
    assertThat(LockdFrame.read(new ByteArrayInputStream(new byte[0]))).isNull();
    assertThatThrownBy(() -> read(Hex.bytes("0000"))).isInstanceOf(EOFException.class);
    assertThatThrownBy(() -> read(Hex.bytes("0000001c 0ea7beef 00000001"))).isInstanceOf(EOFException.class);
  }

  @Test
  void messagesFollowEachOtherOnOneStream() throws Exception {
    byte[] two = Hex.bytes("0000001c" + HEADER_ACQUIRE_5 + "0000001c" + HEADER_ACQUIRE_5);
    InputStream in = new ByteArrayInputStream(two);
    assertThat(LockdFrame.read(in)).isNotNull();
    assertThat(LockdFrame.read(in)).isNotNull();
    assertThat(LockdFrame.read(in)).isNull();
  }

  private static LockdFrame read(byte[] bytes) throws IOException {
    return LockdFrame.read(new ByteArrayInputStream(bytes));
  }
}
