package io.lockwarden.e2e.chaos;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.api.v1alpha1.AccessMode.Shared;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.INCOMPATIBLE_HOLDERS;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.INTERLEAVED_WRITERS;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.OVERWRITTEN;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.STALE_HEAD;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.STALE_RESUME;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.STALE_WRITER;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.UNGRANTED_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.e2e.chaos.SplitBrainChecker.Report;
import io.lockwarden.e2e.chaos.SplitBrainChecker.Violation;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.e2e.harness.StubbornWriter;
import io.lockwarden.testing.Await;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitBrainCheckerTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  @TempDir
  Path dir;
  Path disk;

  @BeforeEach
  void disk() {
    disk = dir.resolve("a.img");
  }

  @Test
  void oneHolderAfterTheOtherIsClean() throws Exception {
    write(disk, record("u1", 10, 1), record("u1", 10, 1), record("u2", 20, 2), record("u2", 20, 2));

    Report report = check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2));

    assertThat(report.violations()).isEmpty();
    assertThat(report.clean()).isTrue();
    assertThat(report).extracting(Report::recordsRead, Report::disks, Report::writers, Report::unparsableLines,
        Report::leaseVersions, Report::grants).containsExactly(4, 1, 2, 0, 2, 2);
    assertThat(report.summary()).contains("4 records on 1 disks from 2 writers").contains("no violations");
  }

  @Test
  void anOldTokenWritingAfterTheNewHolderIsStaleAndInterleaved() throws Exception {
    write(disk, record("u1", 10, 1), record("u2", 20, 2), record("u1", 10, 1), record("u1", 10, 1));

    Report report = check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2));

    assertThat(report.violations()).extracting(Violation::kind).containsExactly(STALE_WRITER, INTERLEAVED_WRITERS);
    assertThat(report.violations().get(0)).satisfies(v -> {
      assertThat(v.lease()).isEqualTo("a");
      assertThat(v.disk()).isEqualTo(disk.toString());
      assertThat(v.detail()).isEqualTo("ns/u1 on node-u1 pid 10 epoch 1 wrote line 3 after ns/u2 on node-u2 pid 20 "
          + "epoch 2 wrote line 2");
    });
    assertThat(report.violations().get(1).detail()).isEqualTo("ns/u1 on node-u1 pid 10 epoch 1 (3 records, lines 1-4)"
        + " and ns/u2 on node-u2 pid 20 epoch 2 (1 record, line 2) interleaved");
  }

  @Test
  void sharedWritersMayInterleaveInAnyEpochOrder() throws Exception {
    write(disk, record("u1", 10, 1), record("u2", 20, 2), record("u1", 10, 1), record("u2", 20, 2));

    assertThat(check(holder("u1", Shared, 1), holder("u2", Shared, 2)).violations()).isEmpty();
  }

  @Test
  void anExclusiveWriterInterleavedWithASharedOneIsAViolation() throws Exception {
    write(disk, record("u2", 20, 2), record("u1", 10, 1), record("u2", 20, 2));

    Report report = check(holder("u1", Shared, 1), holder("u2", Exclusive, 2));

    assertThat(report.violations()).extracting(Violation::kind).containsExactly(STALE_WRITER, INTERLEAVED_WRITERS);
  }

  @Test
  void aSharedWriterAfterANewerExclusiveOneIsStale() throws Exception {
    write(disk, record("u2", 20, 2), record("u1", 10, 1));

    assertThat(check(holder("u1", Shared, 1), holder("u2", Exclusive, 2)).violations()).extracting(Violation::kind)
        .containsExactly(STALE_WRITER);
  }

  @Test
  void aRestartUnderTheSameGrantIsCleanButTwoProcessesAtOnceAreNot() throws Exception {
    write(disk, record("u1", 10, 1), record("u1", 10, 1), record("u1", 11, 1), record("u1", 11, 1));
    assertThat(check(holder("u1", Exclusive, 1)).violations()).isEmpty();

    write(disk, record("u1", 10, 1), record("u1", 11, 1), record("u1", 10, 1));
    Report report = check(holder("u1", Exclusive, 1));

    assertThat(report.violations()).extracting(Violation::kind).containsExactly(INTERLEAVED_WRITERS);
    assertThat(report.violations().get(0).detail()).contains("pid 10").contains("pid 11");
  }

  @Test
  void aTokenTheLeaseNeverListedIsUngranted() throws Exception {
    write(disk, record("u1", 10, 1), record("u3", 30, 3), record("u3", 30, 3));

    Report report = check(holder("u1", Exclusive, 1));

    assertThat(report.violations()).extracting(Violation::kind).containsExactly(UNGRANTED_WRITE);
    assertThat(report.violations().get(0).detail()).isEqualTo("ns/u3 on node-u3 pid 30 epoch 3 (2 records, lines 2-3)"
        + ": lease a never listed uid u3 at epoch 3 as a holder");
  }

  @Test
  void aDiskNoObservedLeaseNamesIsUngranted() throws Exception {
    write(disk, record("u1", 10, 1));

    Report report = SplitBrainChecker.check(List.of(disk), List.of(version("b", "/srv/b.img")));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(UNGRANTED_WRITE);
      assertThat(v.lease()).isNull();
      assertThat(v.detail()).endsWith("no observed lease names this disk");
    });
  }

  @Test
  void aLeaseNeverObservedIsUngranted() throws Exception {
    write(disk, record("u1", 10, 1));

    Report report = SplitBrainChecker.check(List.of(disk), Map.of(disk, "ghost"), List.of());

    assertThat(report.violations()).singleElement()
        .satisfies(v -> assertThat(v.detail()).endsWith("lease ghost was never observed"));
  }

  @Test
  void aLeaseListingAnExclusiveHolderBesideAnotherIsIncompatible() throws Exception {
    write(disk);
    LeaseVersion both = version("a", disk.toString(), holder("u1", Exclusive, 1), holder("u2", Shared, 2));

    Report report = SplitBrainChecker.check(List.of(disk), List.of(both,
        version("a", disk.toString(), holder("u1", Shared, 1), holder("u2", Shared, 2))));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(INCOMPATIBLE_HOLDERS);
      assertThat(v.detail()).isEqualTo("resourceVersion 1 lists ns/u1 on node-u1 epoch 1 Exclusive, "
          + "ns/u2 on node-u2 epoch 2 Shared");
    });
  }

  @Test
  void bytesThatAreNotRecordsAreCountedAndSkipped() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(new byte[] {0, 0, (byte) 0xff, (byte) 0xfe, 'Q', 'F', 'I'}); // a header with no newline
    bytes.writeBytes((record("u1", 10, 1) + "\n\n").getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("{\"domain\":\"ns/x\",\"pid\":1}\n".getBytes(StandardCharsets.UTF_8)); // no uid, no epoch
    bytes.writeBytes((record("u1", 10, 1) + "\n").getBytes(StandardCharsets.UTF_8));
    bytes.writeBytes("{\"domain\":\"ns/u1\",\"uid\":\"u1\",\"no".getBytes(StandardCharsets.UTF_8)); // torn
    Files.write(disk, bytes.toByteArray());

    Report report = check(holder("u1", Exclusive, 1));

    assertThat(report.violations()).isEmpty();
    assertThat(report.recordsRead()).isEqualTo(2);
    assertThat(report.unparsableLines()).isEqualTo(3);
  }

  @Test
  void aLeaseNamesTheDiskThroughASymlink() throws Exception {
    Path link = Files.createSymbolicLink(dir.resolve("link.img"), disk.getFileName());
    write(disk, record("u1", 10, 1));

    assertThat(SplitBrainChecker.check(List.of(disk), List.of(version("a", link.toString(),
        holder("u1", Exclusive, 1)))).violations()).isEmpty();
  }

  @Test
  void aCopyOfTheDiskIsMappedByItsRecordsOrExplicitly() throws Exception {
    Path copy = Files.createDirectory(dir.resolve("copies")).resolve("a.img");
    write(copy, record("u1", 10, 1)); // the record's "disk" is the original path
    List<LeaseVersion> history = List.of(version("a", disk.toString(), holder("u1", Exclusive, 1)),
        version("b", "/srv/b.img", holder("u1", Exclusive, 5)));

    assertThat(SplitBrainChecker.check(List.of(copy), history).violations()).isEmpty();
    assertThat(SplitBrainChecker.check(List.of(copy), Map.of(copy, "b"), history).violations())
        .extracting(Violation::kind).containsExactly(UNGRANTED_WRITE);
  }

  @Test
  void twoLeasesNamingOneDiskNeedAnExplicitMapping() throws Exception {
    write(disk, record("u1", 10, 1));
    List<LeaseVersion> history = List.of(version("a", disk.toString(), holder("u1", Exclusive, 1)),
        version("a2", disk.toString()));

    assertThatThrownBy(() -> SplitBrainChecker.check(List.of(disk), history))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[a, a2]");
    assertThat(SplitBrainChecker.check(List.of(disk), Map.of(disk, "a"), history).violations()).isEmpty();
  }

  @Test
  void theSummaryShowsTheFirstTwentyViolations() throws Exception {
    write(disk);
    List<LeaseVersion> history = IntStream.range(0, 25).mapToObj(i -> version("a", disk.toString(),
        holder("u1", Exclusive, 1), holder("u" + i, Exclusive, i))).toList();

    Report report = SplitBrainChecker.check(List.of(disk), history);

    assertThat(report.violations()).hasSize(25);
    assertThat(report.summary().lines()).hasSize(2 + 20 + 1)
        .contains("25 violations: INCOMPATIBLE_HOLDERS 25", "  and 5 more");
  }

  @Test
  void theHeadSlotIsNotAnOrderedRecord() throws Exception {
    // In file order the head (u2 at epoch 2) comes before u1's records at epoch 1: it is the last write, not the first.
    write(disk, head("u2", 20, 2), tail("u1", 10, 1), tail("u1", 10, 1), tail("u2", 20, 2), tail("u2", 20, 2));

    Report report = check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2));

    assertThat(report.violations()).isEmpty();
    assertThat(report).extracting(Report::recordsRead, Report::writers, Report::unparsableLines, Report::headSlots)
        .containsExactly(4, 2, 0, 1);
    assertThat(report.summary()).contains("0 unparsable lines, 1 head slots");
  }

  @Test
  void aHeadBelowTheNewestTailOfAHeadWriterIsStale() throws Exception {
    // u2 wrote its head at 2 before line 3; the head at 1 now means u1 wrote it after that.
    write(disk, head("u1", 10, 1), tail("u1", 10, 1), tail("u2", 20, 2));

    Report report = check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(STALE_HEAD);
      assertThat(v.lease()).isEqualTo("a");
      assertThat(v.detail()).isEqualTo("the head slot (line 1) was last written by ns/u1 on node-u1 pid 10 epoch 1, "
          + "after ns/u2 on node-u2 pid 20 epoch 2 wrote its head and then line 3");
    });
  }

  @Test
  void aHeadLeftBehindForADemoWorkloadIsNotStale() throws Exception {
    // The stubborn writer stopped; a demo workload, which never touches the head, took the disk over.
    write(disk, head("u1", 10, 1), tail("u1", 10, 1), record("u2", 20, 2), record("u2", 20, 2));

    assertThat(check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2)).violations()).isEmpty();
  }

  @Test
  void aSharedHeadIsOnlyStaleAgainstAnExclusiveTail() throws Exception {
    write(disk, head("u1", 10, 1), tail("u1", 10, 1), tail("u2", 20, 2));
    assertThat(check(holder("u1", Shared, 1), holder("u2", Shared, 2)).violations()).isEmpty();

    write(disk, head("u1", 10, 1), tail("u1", 10, 1), tail("u2", 20, 2), tail("u3", 30, 3));
    assertThat(check(holder("u1", Shared, 1), holder("u2", Shared, 2), holder("u3", Exclusive, 3)).violations())
        .extracting(Violation::kind).containsExactly(STALE_HEAD);
  }

  @Test
  void aProcessWritingAgainAfterANewerCopyOfItsDomainIsAStaleResume() throws Exception {
    // A held migration source (pid 10) resumed, under a fresh token, after the target (pid 20) had run and written.
    write(disk, record("u1", 10, 1), record("u1", 10, 1), record("u1", 20, 2), record("u1", 10, 3),
        record("u1", 10, 3));

    Report report = check(holder("u1", Exclusive, 1), holder("u1", Exclusive, 2), holder("u1", Exclusive, 3));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(STALE_RESUME);
      assertThat(v.detail()).isEqualTo("ns/u1 on node-u1 pid 10 epoch 1 wrote line 2, then ns/u1 on node-u1 pid 20 "
          + "epoch 2 wrote line 3, then pid 10 wrote again at epoch 3, line 4");
    });
  }

  @Test
  void aStaleResumeUnderTheOldTokenIsAlsoAStaleWriter() throws Exception {
    write(disk, record("u1", 10, 1), record("u1", 20, 2), record("u1", 10, 1));

    assertThat(check(holder("u1", Exclusive, 1), holder("u1", Exclusive, 2)).violations())
        .extracting(Violation::kind).containsExactly(STALE_WRITER, INTERLEAVED_WRITERS, STALE_RESUME);
  }

  @Test
  void aResumeIsCleanWhenNoNewerCopyWroteOrBothCopiesWereShared() throws Exception {
    // A roll-back: the target never wrote, the source goes on under a newer epoch.
    write(disk, record("u1", 10, 1), record("u1", 10, 3));
    assertThat(check(holder("u1", Exclusive, 1), holder("u1", Exclusive, 3)).violations()).isEmpty();

    write(disk, record("u1", 10, 1), record("u1", 20, 2), record("u1", 10, 3));
    assertThat(check(holder("u1", Shared, 1), holder("u1", Shared, 2), holder("u1", Shared, 3)).violations())
        .isEmpty();
  }

  @Test
  void anotherDomainWritingInBetweenIsAHotPlugHandOverNotAResume() throws Exception {
    // u1 unplugged the disk, u2 plugged and unplugged it, u1 plugged it again: three grants one after the other.
    write(disk, record("u1", 10, 1), record("u2", 20, 2), record("u1", 10, 3));

    assertThat(check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 2), holder("u1", Exclusive, 3))
        .violations()).isEmpty();
  }

  @Test
  void aSeqThatStartsAgainIsANewProcessUnderARecycledPid() throws Exception {
    write(disk, record("u1", 10, 1, 7, ""), record("u1", 20, 2, 1, ""), record("u1", 10, 3, 1, ""));

    assertThat(check(holder("u1", Exclusive, 1), holder("u1", Exclusive, 2), holder("u1", Exclusive, 3))
        .violations()).isEmpty();
  }

  @Test
  void aFileWithAHeadSlotHoldsOnlyWholeRecords() throws Exception {
    String overwritten = tail("u2", 20, 1);
    write(disk, head("u1", 10, 1), tail("u1", 10, 1),
        overwritten.substring(overwritten.length() - 20), // the end of a record whose start another write covered
        overwritten.substring(0, 30) + tail("u1", 10, 1), // a record written over the end of another
        tail("u1", 10, 1));

    Report report = check(holder("u1", Exclusive, 1), holder("u2", Exclusive, 1));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(OVERWRITTEN);
      assertThat(v.detail()).isEqualTo("2 line(s) of a file with a head slot are not whole records, lines 3, 4; "
          + "line 3 starts \"" + overwritten.substring(overwritten.length() - 20) + "\"");
    });
    assertThat(report).extracting(Report::recordsRead, Report::unparsableLines).containsExactly(3, 2);
  }

  @Test
  void aHeadSlotThatDoesNotParseIsOverwrittenAndAnUnfinishedLastLineIsNot() throws Exception {
    String torn = tail("u1", 10, 1).substring(0, 40);
    Files.writeString(disk, head("u1", 10, 1).replace("\"uid\"", "\u0000\u0000\"uid\"") + "\n" + tail("u1", 10, 1)
        + "\n" + torn);

    Report report = check(holder("u1", Exclusive, 1));

    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.kind()).isEqualTo(OVERWRITTEN);
      assertThat(v.detail()).startsWith("1 line(s) of a file with a head slot are not whole records, lines 1; "
          + "line 1 starts \"{\"domain\":\"ns/u1\",??\"uid\"");
    });
    assertThat(report).extracting(Report::recordsRead, Report::unparsableLines, Report::headSlots)
        .containsExactly(1, 2, 1);
  }

  @Test
  void twoRealStubbornWritersOnOneDiskAreCaught() throws Exception {
    Path log = dir.resolve("writers.log");
    Files.createFile(disk);
    List<LeaseVersion> history = List.of(version("a", disk.toString(), holder("u1", Exclusive, 1)),
        version("a", disk.toString(), holder("u2", Exclusive, 2)));
    try (StubbornWriter older = StubbornWriter.start(log, "u1", tokens(1), disk.toString())) {
      Await.until("the first writer's records", WAIT, () -> uncheckedCheck(history).recordsRead() >= 3);
      try (StubbornWriter newer = StubbornWriter.start(log, "u2", tokens(2), disk.toString())) {
        // Each on its own offset, from the same end of the file: they overwrite each other's records and the head.
        Report report = Await.value("the checker finds two writers", WAIT, () -> {
          Report r = uncheckedCheck(history);
          return r.clean() ? null : r;
        });

        assertThat(report.violations()).as(report.summary()).extracting(Violation::kind)
            .isSubsetOf(STALE_WRITER, INTERLEAVED_WRITERS, STALE_HEAD, OVERWRITTEN);
        assertThat(older.alive() && newer.alive()).as("both still write").isTrue();
      }
    }
  }

  @Test
  void aPausedWriterResumedAfterANewerHolderWroteLeavesAStaleHead() throws Exception {
    Path log = dir.resolve("writers.log");
    Files.createFile(disk);
    List<LeaseVersion> history = List.of(version("a", disk.toString(), holder("u1", Exclusive, 1)),
        version("a", disk.toString(), holder("u2", Exclusive, 2)));
    try (StubbornWriter older = StubbornWriter.start(log, "u1", tokens(1), disk.toString())) {
      Await.until("the first writer's records", WAIT, () -> uncheckedCheck(history).recordsRead() >= 3);
      assertThat(Signals.send("STOP", older.pid())).isTrue(); // a paused VM, whose grant then moved on
      try (StubbornWriter newer = StubbornWriter.start(log, "u2", tokens(2), disk.toString())) {
        Await.until("the newer holder's records", WAIT, () -> uncheckedCheck(history).recordsRead() >= 15);
        assertThat(uncheckedCheck(history).violations()).isEmpty();

        // Resumed, the older copy writes its head, then its tail at its old offset, over the newer holder's records;
        // the newer holder's latest records stay whole, behind a head at the older epoch.
        assertThat(Signals.send("CONT", older.pid())).isTrue();
        Report report = Await.value("a stale head", WAIT, () -> {
          Report r = uncheckedCheck(history);
          return r.violations().stream().anyMatch(v -> v.kind() == STALE_HEAD) ? r : null;
        });

        assertThat(report.violations()).as(report.summary()).filteredOn(v -> v.kind() == STALE_HEAD).singleElement()
            .satisfies(v -> assertThat(v.detail()).startsWith("the head slot (line 1) was last written by ns/u1 on "
                + "node-u1 pid " + older.pid() + " epoch 1, after ns/u2 on node-u2 pid " + newer.pid() + " epoch 2"));
      }
    }
  }

  @Test
  void oneRealStubbornWriterAloneIsClean() throws Exception {
    Files.createFile(disk);
    List<LeaseVersion> history = List.of(version("a", disk.toString(), holder("u1", Exclusive, 1)));
    try (StubbornWriter writer = StubbornWriter.start(dir.resolve("writer.log"), "u1", tokens(1),
        disk.toString())) {
      Await.until("20 records", WAIT, () -> uncheckedCheck(history).recordsRead() >= 20);
      assertThat(writer.kill()).as("exit status: killed by SIGKILL").isEqualTo(128 + 9);
    }

    Report report = SplitBrainChecker.check(List.of(disk), history);

    assertThat(report.violations()).as(report.summary()).isEmpty();
    assertThat(report).extracting(Report::writers, Report::unparsableLines, Report::headSlots)
        .containsExactly(1, 0, 1);
    assertThat(Files.readAllLines(disk).get(0)).hasSize(511).contains("\"head\":true");
  }

  /** LOCKWARDEN_FENCING_TOKENS naming {@code disk} at {@code epoch}. */
  private Map<String, String> tokens(long epoch) {
    return Map.of("LOCKWARDEN_FENCING_TOKENS", disk + "=" + epoch);
  }

  /** For Await: the writers may be midway through a write, never in the way of reading. */
  private Report uncheckedCheck(List<LeaseVersion> history) {
    try {
      return SplitBrainChecker.check(List.of(disk), history);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Report check(LeaseHolder... holders) throws Exception {
    List<LeaseVersion> history = new ArrayList<>();
    for (LeaseHolder holder : holders) {
      history.add(version("a", disk.toString(), holder));
    }
    return SplitBrainChecker.check(List.of(disk), history);
  }

  /** A demo workload's record; seq grows through the test, as each process's does. */
  private String record(String uid, int pid, long epoch) {
    return record(uid, pid, epoch, ++seq, "");
  }

  private String record(String uid, int pid, long epoch, long seq, String extra) {
    return String.format("{\"domain\":\"ns/%s\",\"uid\":\"%s\",\"node\":\"node-%s\",\"pid\":%d,\"disk\":\"%s\","
        + "\"epoch\":%d,\"seq\":%d,\"mono\":123456789%s}", uid, uid, uid, pid, disk, epoch, seq, extra);
  }

  /** A stubborn writer's tail record. */
  private String tail(String uid, int pid, long epoch) {
    return record(uid, pid, epoch, ++seq, ",\"head\":false");
  }

  /** A stubborn writer's head slot, padded as it pads it (write() adds the newline). */
  private String head(String uid, int pid, long epoch) {
    String head = record(uid, pid, epoch, ++seq, ",\"head\":true");
    return head + " ".repeat(511 - head.length());
  }

  private static void write(Path file, String... records) throws Exception {
    Files.write(file, List.of(records), StandardCharsets.UTF_8);
  }

  /** Per test: JUnit makes a new instance for each. */
  private int resourceVersion;
  private long seq;

  private LeaseVersion version(String name, String path, LeaseHolder... holders) {
    resourceVersion++;
    return new LeaseVersion(name, String.valueOf(resourceVersion), path, resourceVersion, List.of(holders));
  }

  private static LeaseHolder holder(String uid, AccessMode mode, long epoch) {
    return LeaseVersionTest.holder("ns/" + uid, uid, mode, epoch);
  }
}
