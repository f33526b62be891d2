package io.lockwarden.agent.lockd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replays libvirt's lockd sequences, and the ways they can go wrong, to Debian's real virtlockd and to our
 * {@link LockdServer}, and compares what comes back: reply headers, error codes, domains and levels, and whether a
 * connection is answered, ignored or dropped. Messages differ by design (ours name the holder) and are only printed.
 * Where lockwarden differs on purpose, the test pins the difference instead.
 */
class LockdWireIT {
  static final long MY_PID = ProcessHandle.current().pid();

  @TempDir static Path dir;
  static RealVirtlockd virtlockd;
  static LockdServer ours;

  static String unavailable;

  @BeforeAll
  static void start() throws Exception {
    unavailable = RealVirtlockd.unavailableBecause();
    if (unavailable != null) {
      System.out.println("LockdWireIT skipped: no real virtlockd to compare with: " + unavailable);
      return;
    }
    virtlockd = RealVirtlockd.start(dir.resolve("virtlockd"));
    ours = new LockdServer(dir.resolve("ours/virtlockd-sock"), LockdServerTest.MY_UID, new RecordingLockService())
        .start();
  }

  /** Per test, so that each one is reported skipped with the reason. */
  @BeforeEach
  void needsVirtlockd() {
    Assumptions.assumeTrue(unavailable == null, "no real virtlockd to compare with: " + unavailable);
  }

  @AfterAll
  static void stop() throws Exception {
    if (ours != null) {
      ours.close();
    }
    if (virtlockd != null) {
      virtlockd.close();
      System.out.println("virtlockd's output:\n" + virtlockd.output());
    }
  }

  interface Scenario {
    void play(LockdTranscript t) throws IOException;
  }

  static LockOwner owner(String name, long pid) {
    return new LockOwner(UUID.nameUUIDFromBytes(name.getBytes()), name, 1, pid);
  }

  static LockdCall acquire(String resource, int flags) {
    return new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, "", resource, flags);
  }

  static String disk(String name) throws IOException {
    Path disk = dir.resolve("disks/" + name);
    Files.createDirectories(disk.getParent());
    return Files.writeString(disk, "").toString();
  }

  /** Plays the scenario on both daemons, prints both transcripts, and returns {virtlockd's, ours}. */
  static LockdTranscript[] play(String name, Scenario scenario) throws IOException {
    LockdTranscript theirs = new LockdTranscript(virtlockd.socket());
    LockdTranscript mine = new LockdTranscript(ours.socket());
    scenario.play(theirs);
    scenario.play(mine);
    System.out.printf("== %s%n  virtlockd: %s%n  lockwarden: %s%n", name, String.join("\n             ",
        theirs.details), String.join("\n             ", mine.details));
    return new LockdTranscript[] {theirs, mine};
  }

  static void assertSame(String name, Scenario scenario) throws IOException {
    LockdTranscript[] both = play(name, scenario);
    assertThat(both[1].shapes).as(name).isEqualTo(both[0].shapes);
  }

  @Test
  void registerThenRestrictThenEverythingIsDenied() throws IOException {
    assertSame("REGISTER+RESTRICT (the lifetime connection), then calls", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, new LockdCall.Register(owner("vm-lifetime", MY_PID), 0));
        t.call(c, new LockdCall.Restrict(0));
        t.call(c, acquire("/nonexistent", 0));
        t.call(c, new LockdCall.Register(owner("vm-lifetime", MY_PID), 0));
        t.call(c, new LockdCall.CreateLockspace("/var/lib/lw"));
        t.call(c, new LockdCall.Restrict(0));
      }
    });
  }

  @Test
  void registerAcquireRelease() throws IOException {
    String disk = disk("rar.img");
    assertSame("REGISTER+ACQUIRE+RELEASE, REGISTER again", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, new LockdCall.Register(owner("vm-rar", 3_900_001), 0));
        t.call(c, acquire(disk, 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", disk, 0));
        t.call(c, new LockdCall.Register(owner("vm-rar", 3_900_001), 0));
      }
    });
  }

  @Test
  void callsBeforeRegister() throws IOException {
    assertSame("calls before REGISTER", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, acquire("/nonexistent", 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/nonexistent", 0));
        t.call(c, new LockdCall.Restrict(0));
        t.call(c, new LockdCall.New("/ls", 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, "", "/r", 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, "", "/r", 0));
      }
    });
  }

  @Test
  void aResourceHeldByAnotherOwnerIsBusy() throws IOException {
    String disk = disk("busy.img");
    assertSame("ACQUIRE of a resource another owner holds", t -> {
      try (LockdClient a = t.connect(); LockdClient b = t.connect()) {
        t.call(a, new LockdCall.Register(owner("vm-a", 3_900_002), 0));
        t.call(a, acquire(disk, 0));
        t.call(b, new LockdCall.Register(owner("vm-b", 3_900_003), 0));
        t.call(b, acquire(disk, 0));
        t.call(b, acquire(disk, LockdProcedure.SHARED));
      }
    });
  }

  @Test
  void unknownProceduresProgramsAndVersionsAreRpcErrorsAndTheConnectionStays() throws IOException {
    assertSame("unknown procedure 99 and 0, wrong program, wrong version", t -> {
      try (LockdClient c = t.connect()) {
        t.send(c, LockdHeader.call(99, c.nextSerial()), new byte[0]);
        t.send(c, LockdHeader.call(0, c.nextSerial()), new byte[0]);
        t.send(c, new LockdHeader(0x12345678, 1, 1, LockdHeader.CALL, c.nextSerial(), 0), new byte[0]);
        t.send(c, new LockdHeader(LockdHeader.PROGRAM, 2, 1, LockdHeader.CALL, c.nextSerial(), 0), new byte[0]);
        t.call(c, new LockdCall.Register(owner("vm-rpc", 3_900_004), 0));
      }
    });
  }

  @Test
  void badFlagsIdZeroStatusAndPayloads() throws IOException {
    assertSame("unknown flags, id 0, status ERROR, truncated and overlong payloads", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, new LockdCall.Register(owner("vm-flags", 3_900_005), 1));
        t.call(c, new LockdCall.Register(new LockOwner(UUID.randomUUID(), "vm-id0", 0, 3_900_005), 0));
        t.send(c, new LockdHeader(LockdHeader.PROGRAM, 1, 1, LockdHeader.CALL, c.nextSerial(), 1), new byte[0]);
        t.send(c, LockdHeader.call(1, c.nextSerial()), Hex.bytes("11111111"));
        t.send(c, LockdHeader.call(8, c.nextSerial()), Hex.bytes("00010001"));
        byte[] register = new LockdCall.Register(owner("vm-flags", 3_900_005), 0).encode();
        byte[] trailing = new XdrWriter().writeBytes(register).writeInt(0).toByteArray();
        t.send(c, LockdHeader.call(1, c.nextSerial()), trailing);
        t.call(c, acquire("/nonexistent", 4));
        t.call(c, new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, "", "/nonexistent", 1));
        t.call(c, new LockdCall.Restrict(2));
        t.call(c, new LockdCall.New("", 0));
      }
    });
  }

  @Test
  void messagesThatAreNotCallsAreIgnored() throws IOException {
    assertSame("REPLY, MESSAGE and STREAM types", t -> {
      try (LockdClient c = t.connect()) {
        for (int type : new int[] {1, 2, 3, 7}) {
          t.sendUnanswered(c, new LockdHeader(LockdHeader.PROGRAM, 1, 1, type, c.nextSerial(), 0),
              new LockdCall.Register(owner("vm-type", 3_900_006), 0).encode());
        }
        t.sendUnanswered(c, new LockdHeader(0x12345678, 1, 1, LockdHeader.REPLY, c.nextSerial(), 0), new byte[0]);
        t.call(c, new LockdCall.Register(owner("vm-type", 3_900_006), 0));
      }
    });
  }

  @Test
  void theLargestMessageHasABodyOf32MibAndIsAnswered() throws IOException {
    byte[] body = new byte[32 * 1024 * 1024 - LockdHeader.SIZE];
    assertSame("a message of 4 + 32 MiB (unknown procedure), then a length 4 + 32 MiB with nothing after it", t -> {
      try (LockdClient c = t.connect()) {
        t.send(c, LockdHeader.call(99, c.nextSerial()), body);
        t.call(c, new LockdCall.Register(owner("vm-big", 3_900_009), 0));
      }
      try (LockdClient c = t.connect()) {
        t.raw(c, Hex.bytes("02000004"));
      }
    });
  }

  @Test
  void brokenFramesAndCallsWithDescriptorsDropTheConnection() throws IOException {
    assertSame("length 3, a body of 32 MiB + 1, a length without room for a header, CALL_WITH_FDS", t -> {
      for (String bad : new String[] {"00000003", "02000005", "00000014 00000000000000000000000000000000"}) {
        try (LockdClient c = t.connect()) {
          t.raw(c, Hex.bytes(bad));
        }
      }
      try (LockdClient c = t.connect()) {
        t.raw(c, new LockdFrame(new LockdHeader(LockdHeader.PROGRAM, 1, 1, LockdHeader.CALL_WITH_FDS, 0, 0),
            new LockdCall.Register(owner("vm-fds", 3_900_007), 0).encode()).encode());
      }
    });
  }

  @Test
  void createLockspaceNeedsNoRegisterAndMayRepeat() throws IOException {
    Path lockspace = Files.createDirectories(dir.resolve("lockspace"));
    assertSame("CREATE_LOCKSPACE twice, as libvirtd does at each start", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, new LockdCall.CreateLockspace(lockspace.toString()));
        t.call(c, new LockdCall.CreateLockspace(lockspace.toString()));
      }
    });
  }

  @Test
  void newCreateAndDeleteResourceAreWhereLockwardenDiffersOnPurpose() throws IOException {
    Path lockspace = Files.createDirectories(dir.resolve("other-lockspace"));
    LockdTranscript[] both = play("NEW, CREATE_RESOURCE, DELETE_RESOURCE after REGISTER", t -> {
      try (LockdClient c = t.connect()) {
        t.call(c, new LockdCall.Register(owner("vm-new", 3_900_008), 0));
        t.call(c, new LockdCall.New(lockspace.toString(), 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.CREATE_RESOURCE, lockspace.toString(), "res", 0));
        t.call(c, new LockdCall.Resource(LockdProcedure.DELETE_RESOURCE, lockspace.toString(), "res", 0));
      }
    });
    // virtlockd makes a lockspace and a file on this host and says yes; libvirt 9.0 never asks, and lockwarden,
    // whose locks are cluster objects, says no rather than yes to something it did not do.
    assertThat(both[0].shapes.subList(1, 4)).allMatch(shape -> shape.endsWith(" ok"));
    assertThat(both[1].shapes.subList(1, 4)).allMatch(shape -> shape.contains("code=84 domain=7 level=2"));
    assertThat(both[1].shapes.get(0)).isEqualTo(both[0].shapes.get(0));
  }
}
