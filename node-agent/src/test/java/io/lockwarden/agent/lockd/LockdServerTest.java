package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import jnr.posix.POSIXFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server over a real Unix socket, with a recording service: the protocol only, no cluster behind it. */
class LockdServerTest {
  static final int MY_UID = POSIXFactory.getNativePOSIX().getuid();
  static final long MY_PID = ProcessHandle.current().pid();
  static final Duration SHORT = Duration.ofMillis(300);

  @TempDir Path dir;
  private Path socket;
  private final RecordingLockService service = new RecordingLockService();
  private LockdServer server;

  @BeforeEach
  void start() throws IOException {
    socket = dir.resolve("run/libvirt/virtlockd-sock");
    server = new LockdServer(socket, MY_UID, service).start();
  }

  @AfterEach
  void stop() {
    service.unblock();
    server.close();
  }

  static LockOwner owner(String name, long pid) {
    return new LockOwner(UUID.nameUUIDFromBytes(name.getBytes()), name, 1, pid);
  }

  @Test
  void theSocketIsMode0600InAParentDirectoryItMade() throws IOException {
    assertThat(Files.isDirectory(socket.getParent())).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
    assertThat((Integer) Files.getAttribute(socket, "unix:mode") & 0170000).as("a socket").isEqualTo(0140000);
    assertThat(dir.resolve("run/libvirt").toFile().list()).as("no temporary name left").containsExactly(
        "virtlockd-sock");
  }

  @Test
  void eachProcedureIsAnsweredOnOneConnection() throws IOException {
    try (LockdClient client = LockdClient.connect(socket)) {
      assertThat(client.register(owner("vm1", 5000)).ok()).isTrue();
      assertThat(client.acquire("", "/disk", LockdProcedure.SHARED).ok()).isTrue();
      assertThat(client.acquire("/var/lib/lw", "ab12", LockdProcedure.AUTOCREATE).ok()).isTrue();
      assertThat(client.release("", "/disk").ok()).isTrue();
      assertThat(client.call(new LockdCall.New("/ls", 0)).error().code()).isEqualTo(84);
      assertThat(client.call(new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, "", "/r", 0)).error().code())
          .isEqualTo(84);
      assertThat(client.call(new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, "", "/r", 0)).error().code())
          .isEqualTo(84);
      LockdClient.Reply unknown = client.call(LockdHeader.call(99, client.nextSerial()), new byte[0]);
      assertThat(unknown.error().code()).isEqualTo(39);
      assertThat(unknown.header()).isEqualTo(new LockdHeader(LockdHeader.PROGRAM, 1, 99, 1, 7, 1));
      assertThat(client.restrict().ok()).isTrue();
      LockdClient.Reply denied = client.acquire("", "/disk", 0);
      assertThat(denied.error().code()).isEqualTo(29);
      assertThat(denied.header().serial()).isEqualTo(9);
    }
    try (LockdClient libvirtd = LockdClient.connect(socket)) {
      assertThat(libvirtd.createLockspace("/var/lib/lw").ok()).as("needs no REGISTER").isTrue();
    }
    assertThat(service.calls()).containsExactly("register vm1 pid=5000 lifetime=false",
        "acquire vm1 :/disk shared=true autocreate=false", "acquire vm1 /var/lib/lw:ab12 shared=false autocreate=true",
        "release vm1 :/disk", "createLockspace /var/lib/lw");
  }

  @Test
  void callsBeforeRegisterAreInvalidOperations() throws IOException {
    try (LockdClient client = LockdClient.connect(socket)) {
      LockdClient.Reply reply = client.acquire("", "/disk", 0);
      assertThat(reply.error().code()).isEqualTo(55);
      assertThat(reply.error().domain()).isEqualTo(7);
      assertThat(reply.header()).isEqualTo(new LockdHeader(LockdHeader.PROGRAM, 1, 6, 1, 0, 1));
    }
  }

  @Test
  void aConnectionBlockedInAcquireHoldsUpNoOther() throws Exception {
    try (LockdClient slow = LockdClient.connect(socket); LockdClient quick = LockdClient.connect(socket)) {
      slow.register(owner("slow", 5001));
      CompletableFuture<LockdClient.Reply> blocked = CompletableFuture.supplyAsync(() -> {
        try {
          return slow.acquire("", RecordingLockService.BLOCKING, 0);
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(service.blockedEntered.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(quick.register(owner("quick", 5002)).ok()).isTrue();
      assertThat(quick.acquire("", "/other", 0).ok()).isTrue();
      assertThat(quick.release("", "/other").ok()).isTrue();
      assertThat(blocked).isNotDone();
      service.unblock();
      assertThat(blocked.get(10, TimeUnit.SECONDS).ok()).isTrue();
    }
  }

  @Test
  void theLifetimeConnectionIsTheOneWhosePeerPidIsTheOwnersAndItsEndIsReportedOnce() throws Exception {
    LockOwner qemu = owner("vm1", MY_PID);
    try (LockdClient lifetime = LockdClient.connect(socket)) {
      assertThat(lifetime.register(qemu).ok()).isTrue();
      assertThat(lifetime.restrict().ok()).isTrue();
    }
    assertThat(service.lifetimeEnded.poll(10, TimeUnit.SECONDS)).isEqualTo(qemu);
    try (LockdClient libvirtd = LockdClient.connect(socket)) {
      assertThat(libvirtd.register(owner("vm2", MY_PID + 1)).ok()).isTrue();
      assertThat(libvirtd.acquire("", "/disk2", 0).ok()).isTrue();
    }
    awaitNoConnections();
    assertThat(service.lifetimeEnded.poll(500, TimeUnit.MILLISECONDS)).as("only one lifetime ended").isNull();
    assertThat(service.calls()).contains("register vm1 pid=" + MY_PID + " lifetime=true",
        "register vm2 pid=" + (MY_PID + 1) + " lifetime=false");
  }

  @Test
  void aLifetimeConnectionThatFailsMidMessageAlsoEnds() throws Exception {
    LockOwner qemu = owner("vm1", MY_PID);
    try (LockdClient lifetime = LockdClient.connect(socket)) {
      lifetime.register(qemu);
      lifetime.sendRaw(Hex.bytes("0000001c 0ea7beef"));
    }
    assertThat(service.lifetimeEnded.poll(10, TimeUnit.SECONDS)).isEqualTo(qemu);
  }

  @Test
  void aBrokenFrameDropsOnlyItsOwnConnectionWithoutAReplyAsVirtlockdDoes() throws IOException {
    try (LockdClient good = LockdClient.connect(socket)) {
      good.register(owner("good", 5000));
      for (String bad : new String[] {"00000003", "02000005", "00000014 0000000000000000000000000000000000"}) {
        try (LockdClient client = LockdClient.connect(socket)) {
          client.sendRaw(Hex.bytes(bad));
          assertThat(client.closedByServer(Duration.ofSeconds(5))).as(bad).isTrue();
        }
      }
      try (LockdClient fds = LockdClient.connect(socket)) {
        fds.sendRaw(new LockdFrame(new LockdHeader(LockdHeader.PROGRAM, 1, 1, LockdHeader.CALL_WITH_FDS, 0, 0),
            new LockdCall.Register(owner("x", 1), 0).encode()).encode());
        assertThat(fds.closedByServer(Duration.ofSeconds(5))).as("a call with fds").isTrue();
      }
      assertThat(good.acquire("", "/disk", 0).ok()).isTrue();
    }
  }

  @Test
  void wellFramedGarbageIsAnsweredAndTheConnectionStays() throws IOException {
    try (LockdClient client = LockdClient.connect(socket)) {
      LockdClient.Reply truncated = client.call(LockdHeader.call(1, 0), Hex.bytes("11111111"));
      assertThat(truncated.error().message()).isEqualTo("Unable to decode message payload");
      LockdHeader wrong = new LockdHeader(0x12345678, 1, 1, LockdHeader.CALL, 1, 0);
      assertThat(client.call(wrong, new byte[0]).header()).isEqualTo(wrong.reply(LockdHeader.ERROR));
      client.send(new LockdHeader(LockdHeader.PROGRAM, 1, 1, LockdHeader.REPLY, 2, 0), new byte[0]);
      assertThat(client.reply(SHORT)).as("no answer to a reply").isEmpty();
      assertThat(client.register(owner("vm1", 5000)).header().serial()).isEqualTo(3);
    }
  }

  @Test
  void aServiceThatThrowsGivesAnInternalErrorAndTheServerGoesOn() throws IOException {
    try (LockdClient client = LockdClient.connect(socket)) {
      client.register(owner("vm1", 5000));
      LockdClient.Reply reply = client.acquire("", RecordingLockService.EXPLODING, 0);
      assertThat(reply.error().code()).isEqualTo(1);
      assertThat(reply.error().message()).isEqualTo("internal error: the cluster is on fire");
      assertThat(client.acquire("", "/fine", 0).ok()).isTrue();
    }
  }

  @Test
  void aResourceHeldByAnotherOwnerIsBusyWithTheHoldersMessage() throws IOException {
    try (LockdClient a = LockdClient.connect(socket); LockdClient b = LockdClient.connect(socket)) {
      a.register(owner("vm1", 5000));
      b.register(owner("vm2", 6000));
      assertThat(a.acquire("", "/disk", 0).ok()).isTrue();
      LockdClient.Reply busy = b.acquire("", "/disk", 0);
      assertThat(busy.error().code()).isEqualTo(87);
      assertThat(busy.error().domain()).isEqualTo(51);
      assertThat(busy.error().message()).isEqualTo("resource busy: Lockspace resource '/disk' is locked by vm1 (pid 5000)");
    }
  }

  @Test
  void aPeerOfAnotherUidIsDropped() throws Exception {
    server.close();
    server = new LockdServer(socket, MY_UID + 1, service).start();
    try (LockdClient client = LockdClient.connect(socket)) {
      assertThat(client.closedByServer(Duration.ofSeconds(5))).isTrue();
    }
    assertThat(service.calls()).isEmpty();
  }

  @Test
  void closeStopsAcceptingClosesConnectionsRemovesTheSocketAndEndsNoLifetime() throws Exception {
    LockdClient lifetime = LockdClient.connect(socket);
    lifetime.register(owner("vm1", MY_PID));
    assertThat(server.connectionCount()).isEqualTo(1);
    server.close();
    assertThat(lifetime.closedByServer(Duration.ofSeconds(5))).isTrue();
    lifetime.close();
    assertThat(Files.exists(socket)).isFalse();
    assertThatThrownBy(() -> LockdClient.connect(socket)).isInstanceOf(IOException.class);
    awaitNoConnections();
    assertThat(service.lifetimeEnded).as("QEMU is still running").isEmpty();
  }

  @Test
  void aStaleSocketIsReplacedButALiveOneOrAnotherFileIsNot() throws IOException {
    server.close();
    Path stale = dir.resolve("stale-sock");
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(stale));
    }
    assertThat(Files.exists(stale)).as("a closed JDK listener leaves its file").isTrue();
    try (LockdServer replacing = new LockdServer(stale, MY_UID, service).start();
        LockdClient client = LockdClient.connect(stale)) {
      assertThat(client.register(owner("vm1", 5000)).ok()).isTrue();
    }

    Path live = dir.resolve("live-sock");
    try (ServerSocketChannel other = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      other.bind(UnixDomainSocketAddress.of(live));
      assertThatThrownBy(() -> new LockdServer(live, MY_UID, service).start()).isInstanceOf(IOException.class)
          .hasMessageContaining("already listens");
      try (SocketChannel stillTheirs = SocketChannel.open(UnixDomainSocketAddress.of(live))) {
        assertThat(other.accept()).isNotNull();
      }
    }

    Path file = Files.writeString(dir.resolve("plain-file"), "keep me");
    assertThatThrownBy(() -> new LockdServer(file, MY_UID, service).start()).isInstanceOf(IOException.class)
        .hasMessageContaining("not a socket");
    assertThat(Files.readString(file)).isEqualTo("keep me");
  }

  private void awaitNoConnections() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.connectionCount() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(server.connectionCount()).isZero();
  }
}
