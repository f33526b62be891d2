package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LockdErrorPayloadTest {
  @Test
  void aRefusalIsFilledAsVirtlockdFillsItsErrors() {
    LockdErrorPayload error = LockdErrorPayload.of(new LockdRefusal(LockdError.OPERATION_DENIED,
        "lock manager connection has been restricted"));
    assertThat(error).isEqualTo(new LockdErrorPayload(29, 7,
        "operation forbidden: lock manager connection has been restricted", 2, "operation forbidden: %s",
        "lock manager connection has been restricted", null, -1, -1));
  }

  @Test
  void rpcErrorsAreTheirDetailVerbatim() {
    LockdErrorPayload error = LockdErrorPayload.of(LockdError.RPC, "unknown procedure: 99");
    assertThat(error.message()).isEqualTo("unknown procedure: 99");
    assertThat(error.str1()).isEqualTo("%s");
    assertThat(error.code()).isEqualTo(39);
    assertThat(error.domain()).isEqualTo(7);
  }

  @Test
  void unsupportedFlagsNameTheProcedureAndTheArgument() {
    LockdErrorPayload error = LockdErrorPayload.unsupportedFlags(LockdProcedure.ACQUIRE_RESOURCE, 4);
    assertThat(error.code()).isEqualTo(8);
    assertThat(error.domain()).isEqualTo(7);
    assertThat(error.message()).isEqualTo("unsupported flags (0x4) in function lockd ACQUIRE_RESOURCE");
    assertThat(error.str2()).isEqualTo("flags");
    assertThat(error.int1()).isZero();
    assertThat(error.int2()).isZero();
  }

  @Test
  void decodingReadsBackWhatEncodingWrote() throws Exception {
    LockdErrorPayload error = LockdErrorPayload.of(LockdError.RESOURCE_BUSY, "held by vm2 on node-b (epoch 4)");
    assertThat(LockdErrorPayload.decode(error.encode())).isEqualTo(error);
  }

  @Test
  void decodingSkipsADomainAndANetworkIfAPeerSendsThem() throws Exception {
    byte[] uuid = new byte[16];
    byte[] bytes = new XdrWriter().writeInt(1).writeInt(10).writeOptionalString("m").writeInt(2)
        .writeInt(1).writeString("dom").writeFixedOpaque(uuid).writeInt(3)
        .writeOptionalString(null).writeOptionalString(null).writeOptionalString("s3").writeInt(5).writeInt(6)
        .writeInt(1).writeString("net").writeFixedOpaque(uuid).toByteArray();
    assertThat(LockdErrorPayload.decode(bytes)).isEqualTo(new LockdErrorPayload(1, 10, "m", 2, null, null, "s3", 5, 6));
  }

  @Test
  void errorCodesAndDomainsAreVirtlockds() {
    assertThat(LockdError.INTERNAL_ERROR.code()).isEqualTo(1);
    assertThat(LockdError.INTERNAL_ERROR.domain()).isEqualTo(7);
    assertThat(LockdError.RESOURCE_BUSY.code()).isEqualTo(87);
    assertThat(LockdError.RESOURCE_BUSY.domain()).isEqualTo(51);
    assertThat(LockdError.OPERATION_DENIED.code()).isEqualTo(29);
    assertThat(LockdError.OPERATION_INVALID.code()).isEqualTo(55);
    assertThat(LockdError.RPC.code()).isEqualTo(39);
    assertThat(LockdError.LOCKSPACE_INTERNAL_ERROR.domain()).isEqualTo(51);
  }
}
