package io.lockwarden.e2e.chaos;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.api.v1alpha1.AccessMode.Shared;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.INCOMPATIBLE_HOLDERS;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.INTERLEAVED_WRITERS;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.STALE_WRITER;
import static io.lockwarden.e2e.chaos.SplitBrainChecker.Kind.UNGRANTED_WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.e2e.chaos.SplitBrainChecker.Report;
import io.lockwarden.e2e.chaos.SplitBrainChecker.Violation;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitBrainCheckerTest {
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

  private Report check(LeaseHolder... holders) throws Exception {
    List<LeaseVersion> history = new ArrayList<>();
    for (LeaseHolder holder : holders) {
      history.add(version("a", disk.toString(), holder));
    }
    return SplitBrainChecker.check(List.of(disk), history);
  }

  private String record(String uid, int pid, long epoch) {
    return String.format("{\"domain\":\"ns/%s\",\"uid\":\"%s\",\"node\":\"node-%s\",\"pid\":%d,\"disk\":\"%s\","
        + "\"epoch\":%d,\"seq\":1,\"mono\":123456789}", uid, uid, uid, pid, disk, epoch);
  }

  private static void write(Path file, String... records) throws Exception {
    Files.write(file, List.of(records), StandardCharsets.UTF_8);
  }

  /** Per test: JUnit makes a new instance for each. */
  private int resourceVersion;

  private LeaseVersion version(String name, String path, LeaseHolder... holders) {
    resourceVersion++;
    return new LeaseVersion(name, String.valueOf(resourceVersion), path, resourceVersion, List.of(holders));
  }

  private static LeaseHolder holder(String uid, AccessMode mode, long epoch) {
    return LeaseVersionTest.holder("ns/" + uid, uid, mode, epoch);
  }
}
