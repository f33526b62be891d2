package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Each call's payload byte for byte as libvirt 9.0's lockd plugin writes it (lock_protocol.x), both ways. */
class LockdCallTest {
  static final UUID UUID_1 = UUID.fromString("11111111-2222-3333-4444-555555555555");

  @Test
  void registerIsTheRawUuidThenNameIdPidAndFlags() throws Exception {
    LockdCall call = new LockdCall.Register(new LockOwner(UUID_1, "vm1", 7, 4242), 0);
    String bytes = "11111111 22223333 44445555 55555555" // uuid: 16 raw bytes, no length
        + "00000003 766d3100" // name "vm1" and one byte of padding
        + "00000007" // id
        + "00001092" // pid 4242
        + "00000000"; // flags
    assertCodes(call, bytes);
  }

  @Test
  void registerKeepsPidsAndIdsPastTheSignBit() throws Exception {
    LockdCall call = new LockdCall.Register(new LockOwner(UUID_1, "", 0xFFFF_FFFFL, 0x8000_0000L), 0);
    assertCodes(call, "11111111 22223333 44445555 55555555 00000000 ffffffff 80000000 00000000");
  }

  @Test
  void restrictIsItsFlagsAlone() throws Exception {
    assertCodes(new LockdCall.Restrict(0), "00000000");
  }

  @Test
  void acquireIsLockspaceResourceAndFlagsWithSharedAsBitZeroAndAutocreateAsBitOne() throws Exception {
    LockdCall.Resource direct =
        new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "", "/disk", LockdProcedure.SHARED);
    assertCodes(direct, "00000000" + "00000005 2f6469736b000000" + "00000001");
    assertThat(direct.shared()).isTrue();
    assertThat(direct.autocreate()).isFalse();

    LockdCall.Resource indirect = new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "/var/lib/lw", "ab12",
        LockdProcedure.AUTOCREATE);
    assertCodes(indirect, "0000000b 2f7661722f6c69622f6c7700" + "00000004 61623132" + "00000002");
    assertThat(indirect.shared()).isFalse();
    assertThat(indirect.autocreate()).isTrue();
  }

  @Test
  void releaseHasAcquiresShape() throws Exception {
    assertCodes(new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/d/a.img", 0),
        "00000000" + "00000008 2f642f612e696d67" + "00000000");
  }

  @Test
  void createLockspaceIsAPathAndNoFlags() throws Exception {
    LockdCall call = new LockdCall.CreateLockspace("/var/lib/lw");
    assertCodes(call, "0000000b 2f7661722f6c69622f6c7700");
    assertThat(call.flags()).isZero();
  }

  @Test
  void theProceduresLibvirtNeverSendsDecodeToo() throws Exception {
    assertCodes(new LockdCall.New("/ls", 0), "00000003 2f6c7300" + "00000000");
    assertCodes(new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, "/ls", "r1", 0),
        "00000003 2f6c7300" + "00000002 72310000" + "00000000");
    assertCodes(new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, "/ls", "r1", 0),
        "00000003 2f6c7300" + "00000002 72310000" + "00000000");
  }

  @Test
  void proceduresAreNumberedOneToEight() {
    assertThat(LockdProcedure.values()).extracting(LockdProcedure::number).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    assertThat(LockdProcedure.of(6)).contains(LockdProcedure.ACQUIRE_RESOURCE);
    assertThat(LockdProcedure.of(0)).isEmpty();
    assertThat(LockdProcedure.of(9)).isEmpty();
    assertThat(LockdProcedure.ACQUIRE_RESOURCE.allowedFlags()).isEqualTo(3);
    assertThat(LockdProcedure.RELEASE_RESOURCE.allowedFlags()).isZero();
  }

  @Test
  void aTruncatedPayloadIsAnXdrException() {
    assertThatThrownBy(() -> LockdCall.decode(LockdProcedure.REGISTER, Hex.bytes("11111111 22223333")))
        .isInstanceOf(XdrException.class);
    assertThatThrownBy(() -> LockdCall.decode(LockdProcedure.ACQUIRE_RESOURCE, Hex.bytes("00000000 00000005 2f64")))
        .isInstanceOf(XdrException.class);
    assertThatThrownBy(() -> LockdCall.decode(LockdProcedure.ACQUIRE_RESOURCE, Hex.bytes("00000000 00000000")))
        .as("flags missing").isInstanceOf(XdrException.class);
    assertThatThrownBy(() -> LockdCall.decode(LockdProcedure.RESTRICT, new byte[0])).isInstanceOf(XdrException.class);
  }

  @Test
  void bytesAfterTheLastFieldAreIgnoredAsVirtlockdIgnoresThem() throws Exception {
    assertThat(LockdCall.decode(LockdProcedure.RESTRICT, Hex.bytes("00000000 deadbeef")))
        .isEqualTo(new LockdCall.Restrict(0));
  }

  @Test
  void logFieldsAreQuotedAndEscaped() {
    assertThat(new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "", "/a \"b\"\n", 1).describe())
        .isEqualTo("lockspace=\"\" resource=\"/a \\\"b\\\"\\n\" shared=true autocreate=false");
  }

  private static void assertCodes(LockdCall call, String hex) throws XdrException {
    assertThat(Hex.of(call.encode())).isEqualTo(Hex.of(Hex.bytes(hex)));
    assertThat(LockdCall.decode(call.procedure(), Hex.bytes(hex))).isEqualTo(call);
  }
}
