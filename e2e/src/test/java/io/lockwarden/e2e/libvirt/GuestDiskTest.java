package io.lockwarden.e2e.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lockwarden.e2e.libvirt.GuestDisk.Report;
import io.lockwarden.e2e.libvirt.GuestDisk.Run;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checker of the writing guest's disk, on images made by hand the way the guest writes them. */
class GuestDiskTest {
  private static final String A = "0b7c5a3e-6d1f-4c55-9a4e-2f1d8c0e7a11";
  private static final String B = "9f2e4d6c-1a3b-4e5f-8a7b-6c5d4e3f2a1b";

  @TempDir
  Path dir;

  @Test
  void oneBootFromOneOnWithoutAGapIsUnbroken() {
    Path disk = new Image("a.raw").bootLog(A).records(A, 1, 200).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.unbroken()).as(report.summary()).isTrue();
    assertThat(report.unbrokenRunOf(A)).isTrue();
    assertThat(report.unbrokenRunOf(B)).isFalse();
    assertThat(report.count()).isEqualTo(200);
    assertThat(report.last()).isEqualTo(200);
    assertThat(report.bootIds()).containsExactly(A);
    assertThat(report.bootLog()).containsExactly(A);
    assertThat(report.runs()).containsExactly(new Run(A, 1, 200));
    assertThat(report.problems()).isEmpty();
    assertThat(report.recordsPerSecond()).hasValueSatisfying(r -> assertThat(r).isCloseTo(10.0, within(0.01)));
    assertThat(report.summary()).contains("200 records", "unbroken");
  }

  @Test
  void withoutABootLogTheRecordsAloneDecide() {
    Path disk = new Image("a.raw").records(A, 1, 5).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.unbroken()).as(report.summary()).isTrue();
    assertThat(report.bootLog()).isEmpty();
  }

  @Test
  void aRecordWithoutUptimeStillCounts() {
    Image image = new Image("a.raw").bootLog(A);
    image.block(1, "LWCTR 1 " + A + "\n");
    image.block(2, "LWCTR 2 " + A + "\n");

    Report report = GuestDisk.read(image.path());

    assertThat(report.unbroken()).as(report.summary()).isTrue();
    assertThat(report.records().get(0).uptime()).isNull();
    assertThat(report.recordsPerSecond()).isEmpty();
  }

  @Test
  void emptyBlocksAmongTheRecordsAreAGap() {
    Path disk = new Image("a.raw").bootLog(A).records(A, 1, 50).records(A, 53, 100).records(A, 102, 110).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.unbroken()).isFalse();
    assertThat(report.count()).isEqualTo(107);
    assertThat(report.last()).isEqualTo(110);
    assertThat(report.runs()).containsExactly(new Run(A, 1, 50), new Run(A, 53, 100), new Run(A, 102, 110));
    assertThat(report.problems()).containsExactly("blocks 51..52 are empty (a gap)", "block 101 is empty (a gap)");
  }

  @Test
  void aRestartFromTheDiskOverwritesTheStartUnderANewBootId() {
    Path disk = new Image("a.raw").bootLog(A, B).records(A, 1, 100).records(B, 1, 30).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.unbroken()).isFalse();
    assertThat(report.bootIds()).containsExactly(B, A);
    assertThat(report.runs()).containsExactly(new Run(B, 1, 30), new Run(A, 31, 100));
    assertThat(report.problems()).anySatisfy(p -> assertThat(p).startsWith("2 boots wrote records"))
        .anySatisfy(p -> assertThat(p).startsWith("the boot log has 2 boots"));
  }

  @Test
  void aRestartThatOutranTheFirstBootIsSeenInTheBootLog() {
    Path disk = new Image("a.raw").bootLog(A, B).records(A, 1, 100).records(B, 1, 130).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.bootIds()).containsExactly(B);
    assertThat(report.runs()).containsExactly(new Run(B, 1, 130));
    assertThat(report.unbroken()).isFalse();
    assertThat(report.problems()).containsExactly("the boot log has 2 boots: [" + A + ", " + B + "]");
  }

  @Test
  void aBootMissingFromTheBootLogIsReported() {
    Path disk = new Image("a.raw").bootLog(A).records(B, 1, 10).path();

    Report report = GuestDisk.read(disk);

    assertThat(report.unbroken()).isFalse();
    assertThat(report.problems()).containsExactly("boot " + B + " wrote records but is not in the boot log [" + A + "]");
  }

  @Test
  void twoWritersInterleave() {
    Image image = new Image("a.raw").bootLog(A, B);
    for (int n = 1; n <= 40; n++) {
      image.record(n, n % 10 < 5 ? A : B);
    }

    Report report = GuestDisk.read(image.path());

    assertThat(report.unbroken()).isFalse();
    assertThat(report.runs()).hasSize(9).startsWith(new Run(A, 1, 4), new Run(B, 5, 9), new Run(A, 10, 14));
    assertThat(report.count()).isEqualTo(40);
  }

  @Test
  void aRecordInAnotherRecordsBlockAndForeignBytesAreReported() {
    Image image = new Image("a.raw").bootLog(A).records(A, 1, 10);
    image.block(7, "LWCTR 3 " + A + " 1.00\n");
    image.block(9, "some filesystem wrote here");

    Report report = GuestDisk.read(image.path());

    assertThat(report.unbroken()).isFalse();
    assertThat(report.problems()).containsExactly("block 7 holds record 3 of " + A,
        "block 9 holds no record: \"some filesystem wrote here\"");
    assertThat(report.count()).isEqualTo(9);
  }

  @Test
  void anEmptyDiskHasNoRecords() {
    Report report = GuestDisk.read(new Image("a.raw").path());

    assertThat(report.unbroken()).isFalse();
    assertThat(report.count()).isZero();
    assertThat(report.last()).isZero();
    assertThat(report.problems()).containsExactly("no records");
  }

  @Test
  void manyProblemsAreCappedAndCounted() {
    Image image = new Image("a.raw").bootLog(A);
    for (int n = 1; n <= 100; n += 2) {
      image.record(n, A);
    }

    Report report = GuestDisk.read(image.path());

    assertThat(report.problems()).hasSize(21).endsWith("and 29 more");
  }

  @Test
  void aPartialLastBlockIsReported() throws IOException {
    Path disk = new Image("a.raw").bootLog(A).records(A, 1, 3).path();
    try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
      f.setLength(f.length() + 100);
    }

    assertThat(GuestDisk.read(disk).problems()).containsExactly("the image ends in a partial block of 100 bytes");
  }

  @Test
  void aMissingImageIsAnError() {
    assertThatThrownBy(() -> GuestDisk.read(dir.resolve("none.raw"))).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("none.raw");
  }

  @Test
  void aQcow2ImageIsReadThroughQemuImg() throws Exception {
    assumeTrue(onPath("qemu-img"), "qemu-img is not installed");
    Path raw = new Image("a.raw").bootLog(A).records(A, 1, 300).path();
    Path qcow2 = dir.resolve("a.qcow2");
    Process p = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(),
        qcow2.toString()).redirectErrorStream(true).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    assertThat(GuestDisk.isQcow2(qcow2)).isTrue();
    assertThat(GuestDisk.isQcow2(raw)).isFalse();

    Report report = GuestDisk.read(qcow2);

    assertThat(report.unbrokenRunOf(A)).as(report.summary()).isTrue();
    assertThat(report.last()).isEqualTo(300);
  }

  private static boolean onPath(String command) {
    for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!d.isEmpty() && Files.isExecutable(Path.of(d, command))) {
        return true;
      }
    }
    return false;
  }

  /** A sparse 1 MiB raw image, written block by block as the guest would. */
  private final class Image {
    private final Path path;

    Image(String name) {
      path = dir.resolve(name);
      try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
        f.setLength(1 << 20);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    Image bootLog(String... boots) {
      StringBuilder text = new StringBuilder();
      for (String boot : boots) {
        text.append("LWBOOT ").append(boot).append('\n');
      }
      return block(0, text.toString());
    }

    /** Records first..last of a boot, 0.1 s of uptime apart. */
    Image records(String boot, int first, int last) {
      for (int n = first; n <= last; n++) {
        record(n, boot);
      }
      return this;
    }

    Image record(int n, String boot) {
      return block(n, String.format(Locale.ROOT, "LWCTR %d %s %.2f\n", n, boot, 5 + n / 10.0));
    }

    Image block(long index, String text) {
      byte[] block = new byte[GuestDisk.BLOCK]; // NUL-padded, like busybox dd conv=sync
      byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(bytes, 0, block, 0, bytes.length);
      try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
        f.seek(index * GuestDisk.BLOCK);
        f.write(block);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Path path() {
      return path;
    }
  }
}
