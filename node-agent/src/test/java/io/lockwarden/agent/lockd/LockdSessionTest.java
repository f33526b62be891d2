package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The per-connection state machine without a socket: which call gets which answer, in virtlockd's order of checks. */
class LockdSessionTest {
  static final long PEER_PID = 4000;
  static final LockOwner VM1 = new LockOwner(UUID.fromString("11111111-2222-3333-4444-555555555555"), "vm1", 1, 5000);
  static final LockOwner VM1_QEMU = new LockOwner(VM1.uuid(), "vm1", 1, PEER_PID);

  private final RecordingLockService service = new RecordingLockService();
  private final LockdSession session = new LockdSession(service, new PeerCredentials(PEER_PID, 0, 0), "test");
  private int serial;

  @Test
  void registerThenAcquireAndReleaseReachTheServiceWithTheOwner() {
    assertOk(call(new LockdCall.Register(VM1, 0)));
    assertOk(call(acquire("/disk", LockdProcedure.SHARED | LockdProcedure.AUTOCREATE)));
    assertOk(call(new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/disk", 0)));
    assertThat(service.calls()).containsExactly("register vm1 pid=5000 lifetime=false",
        "acquire vm1 :/disk shared=true autocreate=true", "release vm1 :/disk");
  }

  @Test
  void everyCallButRegisterAndCreateLockspaceNeedsARegisterFirst() {
    for (LockdCall call : new LockdCall[] {acquire("/disk", 0), new LockdCall.Restrict(0),
        new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/disk", 0), new LockdCall.New("/ls", 0),
        new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, "", "/r", 0),
        new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, "", "/r", 0)}) {
      assertError(call(call), LockdError.OPERATION_INVALID);
    }
    assertOk(call(new LockdCall.CreateLockspace("/var/lib/lw")));
    assertThat(service.calls()).containsExactly("createLockspace /var/lib/lw");
  }

  @Test
  void afterRestrictEveryCallIsDeniedEvenRegisterAndCreateLockspace() {
    assertOk(call(new LockdCall.Register(VM1_QEMU, 0)));
    assertOk(call(new LockdCall.Restrict(0)));
    for (LockdCall call : new LockdCall[] {acquire("/disk", 0), new LockdCall.Restrict(0),
        new LockdCall.Register(VM1_QEMU, 0), new LockdCall.CreateLockspace("/x"), new LockdCall.New("/ls", 0)}) {
      assertError(call(call), LockdError.OPERATION_DENIED);
    }
    assertThat(service.calls()).containsExactly("register vm1 pid=4000 lifetime=true");
  }

  @Test
  void unknownFlagBitsAreInvalidArgumentsBeforeAnyOtherCheck() {
    LockdFrame reply = call(acquire("/disk", 4)).orElseThrow();
    assertError(Optional.of(reply), LockdError.INVALID_ARG);
    assertThat(error(reply).message()).isEqualTo("unsupported flags (0x4) in function lockd ACQUIRE_RESOURCE");
    assertError(call(new LockdCall.Register(VM1, 1)), LockdError.INVALID_ARG);
    assertOk(call(new LockdCall.Register(VM1, 0)));
    assertError(call(new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/d", 1)), LockdError.INVALID_ARG);
    assertError(call(new LockdCall.Restrict(2)), LockdError.INVALID_ARG);
  }

  @Test
  void registerWithIdZeroIsRefusedAndLeavesTheConnectionUnregistered() {
    assertError(call(new LockdCall.Register(new LockOwner(VM1.uuid(), "vm1", 0, 5000), 0)),
        LockdError.OPERATION_INVALID);
    assertError(call(acquire("/disk", 0)), LockdError.OPERATION_INVALID);
    assertThat(service.calls()).isEmpty();
  }

  @Test
  void aConnectionMayRegisterAgainButALifetimeOneOnlyAsItsOwnOwner() {
    assertOk(call(new LockdCall.Register(VM1, 0)));
    assertOk(call(new LockdCall.Register(VM1_QEMU, 0)));
    assertOk(call(new LockdCall.Register(VM1_QEMU, 0)));
    assertError(call(new LockdCall.Register(VM1, 0)), LockdError.OPERATION_INVALID);
  }

  @Test
  void newOfTheDefaultLockspaceIsVirtlockdsErrorAndTheRestAreNotServed() {
    assertOk(call(new LockdCall.Register(VM1, 0)));
    assertError(call(new LockdCall.New("", 0)), LockdError.OPERATION_INVALID);
    assertError(call(new LockdCall.New("/ls", 0)), LockdError.OPERATION_UNSUPPORTED);
    assertError(call(new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, "/ls", "r", 0)),
        LockdError.OPERATION_UNSUPPORTED);
    assertError(call(new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, "/ls", "r", 0)),
        LockdError.OPERATION_UNSUPPORTED);
  }

  @Test
  void aRefusalKeepsItsCodeDomainAndMessage() {
    LockOwner vm2 = new LockOwner(UUID.randomUUID(), "vm2", 2, 6000);
    assertOk(call(new LockdCall.Register(VM1, 0)));
    assertOk(call(acquire("/disk", 0)));
    LockdSession other = new LockdSession(service, new PeerCredentials(1, 0, 0), "other");
    other.handle(frame(LockdHeader.call(1, 0), new LockdCall.Register(vm2, 0).encode()));
    LockdFrame reply = other.handle(frame(LockdHeader.call(6, 1), acquire("/disk", 0).encode())).orElseThrow();
    assertThat(error(reply).code()).isEqualTo(87);
    assertThat(error(reply).domain()).isEqualTo(51);
    assertThat(error(reply).message()).isEqualTo("resource busy: Lockspace resource '/disk' is locked by vm1 (pid 5000)");
  }

  @Test
  void aRuntimeExceptionFromTheServiceIsAnInternalErrorWithItsMessage() {
    assertOk(call(new LockdCall.Register(VM1, 0)));
    LockdFrame reply = call(acquire(RecordingLockService.EXPLODING, 0)).orElseThrow();
    assertThat(error(reply).code()).isEqualTo(1);
    assertThat(error(reply).message()).isEqualTo("internal error: the cluster is on fire");
    assertOk(call(acquire("/next", 0)));
  }

  @Test
  void protocolTroubleIsAnRpcErrorThatEchoesTheHeader() {
    LockdHeader wrongProgram = new LockdHeader(0x12345678, 1, 1, LockdHeader.CALL, 7, 0);
    assertRpc(session.handle(frame(wrongProgram, new byte[0])), wrongProgram,
        "Cannot find program 305419896 version 1");
    LockdHeader wrongVersion = new LockdHeader(LockdHeader.PROGRAM, 2, 1, LockdHeader.CALL, 8, 0);
    assertRpc(session.handle(frame(wrongVersion, new byte[0])), wrongVersion,
        "Cannot find program 245874415 version 2");
    LockdHeader status = new LockdHeader(LockdHeader.PROGRAM, 1, 99, LockdHeader.CALL, 9, 1);
    assertRpc(session.handle(frame(status, new byte[0])), status, "Unexpected message status 1");
    LockdHeader unknown = LockdHeader.call(99, 10);
    assertRpc(session.handle(frame(unknown, new byte[0])), unknown, "unknown procedure: 99");
    LockdHeader truncated = LockdHeader.call(6, 11);
    assertRpc(session.handle(frame(truncated, Hex.bytes("00000000"))), truncated, "Unable to decode message payload");
  }

  @Test
  void messagesThatAreNotCallsGetNoAnswerAsInVirtlockd() {
    for (int type : new int[] {1, 2, 3, 5, 6, 100}) {
      assertThat(session.handle(frame(new LockdHeader(LockdHeader.PROGRAM, 1, 1, type, 0, 0),
          new LockdCall.Register(VM1, 0).encode()))).isEmpty();
      assertThat(session.handle(frame(new LockdHeader(5, 1, 1, type, 0, 0), new byte[0]))).isEmpty();
    }
    assertThat(service.calls()).isEmpty();
  }

  @Test
  void theLifetimeIsTheRegisteredPidBeingThePeersAndItEndsOnce() {
    assertOk(call(new LockdCall.Register(VM1_QEMU, 0)));
    assertOk(call(new LockdCall.Restrict(0)));
    session.closed(false);
    session.closed(false);
    assertThat(service.lifetimeEnded).containsExactly(VM1_QEMU);
  }

  @Test
  void aConnectionOfAnotherPidEndsNothing() {
    assertOk(call(new LockdCall.Register(VM1, 0)));
    session.closed(false);
    assertThat(service.lifetimeEnded).isEmpty();
  }

  @Test
  void theServerClosingALifetimeConnectionEndsNothing() {
    assertOk(call(new LockdCall.Register(VM1_QEMU, 0)));
    session.closed(true);
    session.closed(false);
    assertThat(service.lifetimeEnded).isEmpty();
  }

  private static LockdCall acquire(String resource, int flags) {
    return new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "", resource, flags);
  }

  private Optional<LockdFrame> call(LockdCall call) {
    return session.handle(frame(LockdHeader.call(call.procedure().number(), serial++), call.encode()));
  }

  private static LockdFrame frame(LockdHeader header, byte[] payload) {
    return new LockdFrame(header, payload);
  }

  private static LockdErrorPayload error(LockdFrame reply) {
    try {
      return LockdErrorPayload.decode(reply.payload());
    } catch (XdrException e) {
      throw new AssertionError(e);
    }
  }

  private static void assertOk(Optional<LockdFrame> reply) {
    assertThat(reply).isPresent();
    assertThat(reply.get().header().status()).as("status of %s", reply.get().header()).isEqualTo(LockdHeader.OK);
    assertThat(reply.get().header().type()).isEqualTo(LockdHeader.REPLY);
    assertThat(reply.get().payload()).isEmpty();
  }

  private static void assertError(Optional<LockdFrame> reply, LockdError expected) {
    assertThat(reply).isPresent();
    assertThat(reply.get().header().status()).isEqualTo(LockdHeader.ERROR);
    LockdErrorPayload error = error(reply.get());
    assertThat(error.code()).as("code of %s", error).isEqualTo(expected.code());
    assertThat(error.domain()).as("domain of %s", error).isEqualTo(expected.domain());
  }

  private static void assertRpc(Optional<LockdFrame> reply, LockdHeader call, String message) {
    assertError(reply, LockdError.RPC);
    assertThat(reply.get().header()).isEqualTo(call.reply(LockdHeader.ERROR));
    assertThat(error(reply.get()).message()).isEqualTo(message);
  }
}
