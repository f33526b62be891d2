package io.lockwarden.e2e.libvirt;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Reads the disk of the writing guest (e2e/libvirt/guest.sh) and says whether one boot of it wrote the counter from
 * 1 on, without a gap: what a live migration must leave behind, and what a restart of the guest from its disk, a
 * second writer or a lost write would break.
 *
 * <p>The disk, in 512-byte blocks, no filesystem: block 0 holds the boot log, lines {@code LWBOOT <boot-id>}, one per
 * boot on this disk, oldest first; block n (n ≥ 1) holds record n, the line {@code LWCTR <n> <boot-id> <uptime>},
 * NUL-padded. A boot writes records 1, 2, 3, ... in that order, each to its own block, and keeps n only in memory, so
 * a second boot starts again at 1 under a new boot id.
 *
 * <p>No dependencies beyond the JDK, so that it also runs as a script: {@code java GuestDisk.java DISK [BOOT-ID]}
 * prints the report and exits 0 when the disk holds one unbroken run (of that boot), 1 when not.
 */
public final class GuestDisk {
  public static final int BLOCK = 512;
  public static final String RECORD_TAG = "LWCTR";
  public static final String BOOT_TAG = "LWBOOT";
  private static final int MAX_PROBLEMS = 20;

  private GuestDisk() {}

  /** Record {@code counter} of boot {@code bootId}, found in block {@code block}; uptime as the guest printed it. */
  public record Record(long block, long counter, String bootId, String uptime) {}

  /** Consecutive blocks holding records of one boot, counters {@code first..last}. */
  public record Run(String bootId, long first, long last) {
    public long length() {
      return last - first + 1;
    }

    @Override
    public String toString() {
      return bootId + " " + first + ".." + last;
    }
  }

  /**
   * What the disk holds.
   *
   * @param bootLog the boot ids of block 0, oldest first (empty if block 0 is)
   * @param records the blocks that hold a record, in block order
   * @param runs records grouped into stretches of consecutive blocks of one boot
   * @param problems each thing that breaks "one boot wrote 1..N without a gap", first {@value #MAX_PROBLEMS}, in words
   */
  public record Report(List<String> bootLog, List<Record> records, List<Run> runs, List<String> problems) {
    /** The number of blocks holding a record. */
    public int count() {
      return records.size();
    }

    /** The highest counter on the disk, 0 if none. */
    public long last() {
      return records.isEmpty() ? 0 : records.get(records.size() - 1).counter();
    }

    /** The boot ids of the records, in the order of the blocks where they first appear. */
    public List<String> bootIds() {
      return List.copyOf(new LinkedHashSet<>(records.stream().map(Record::bootId).toList()));
    }

    /**
     * Records 1..N, all there, all of one boot, which is the only boot in the boot log: one run of the guest,
     * nothing lost, nothing interleaved, no restart.
     */
    public boolean unbroken() {
      return !records.isEmpty() && problems.isEmpty();
    }

    /** {@link #unbroken()}, and by that boot. */
    public boolean unbrokenRunOf(String bootId) {
      return unbroken() && records.get(0).bootId().equals(bootId);
    }

    /** Records per second of guest uptime over the longest run, if it has two records with an uptime. */
    public Optional<Double> recordsPerSecond() {
      Run longest = null;
      for (Run run : runs) {
        if (longest == null || run.length() > longest.length()) {
          longest = run;
        }
      }
      if (longest == null || longest.length() < 2) {
        return Optional.empty();
      }
      String first = null;
      String last = null;
      for (Record r : records) {
        if (r.bootId().equals(longest.bootId()) && r.counter() == longest.first()) {
          first = r.uptime();
        } else if (r.bootId().equals(longest.bootId()) && r.counter() == longest.last()) {
          last = r.uptime();
        }
      }
      try {
        double seconds = Double.parseDouble(last) - Double.parseDouble(first);
        return seconds > 0 ? Optional.of((longest.length() - 1) / seconds) : Optional.empty();
      } catch (NumberFormatException | NullPointerException e) {
        return Optional.empty();
      }
    }

    /** One paragraph, for assertion messages and logs. */
    public String summary() {
      StringBuilder s = new StringBuilder()
          .append(count()).append(" records, last ").append(last())
          .append(", boot ids ").append(bootIds())
          .append(", boot log ").append(bootLog)
          .append(", runs ").append(runs);
      recordsPerSecond().ifPresent(r -> s.append(String.format(", %.1f records/s", r)));
      s.append(unbroken() ? ": unbroken" : ": BROKEN: " + String.join("; ", problems));
      return s.toString();
    }

    @Override
    public String toString() {
      return summary();
    }
  }

  /**
   * Reads a disk image: raw, or qcow2 (converted to a temporary raw file with {@code qemu-img convert -U}, so also
   * while a QEMU has it open).
   */
  public static Report read(Path image) {
    try {
      if (isQcow2(image)) {
        Path raw = Files.createTempFile("guest-disk-", ".raw");
        try {
          qemuImgToRaw(image, raw);
          return readRaw(raw);
        } finally {
          Files.deleteIfExists(raw);
        }
      }
      return readRaw(image);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the guest disk " + image, e);
    }
  }

  private static Report readRaw(Path raw) throws IOException {
    try (InputStream in = Files.newInputStream(raw)) {
      return parse(in);
    }
  }

  /** Reads a raw image from a stream, to its end. */
  public static Report parse(InputStream raw) throws IOException {
    Scanner scanner = new Scanner();
    byte[] buffer = new byte[256 * BLOCK];
    int filled = 0;
    long block = 0;
    while (true) {
      int n = raw.read(buffer, filled, buffer.length - filled);
      if (n < 0) {
        break;
      }
      filled += n;
      int whole = filled / BLOCK;
      for (int i = 0; i < whole; i++) {
        scanner.block(block++, buffer, i * BLOCK);
      }
      int rest = filled - whole * BLOCK;
      System.arraycopy(buffer, whole * BLOCK, buffer, 0, rest);
      filled = rest;
    }
    if (filled > 0) { // a partial last block: the guest never writes one
      scanner.problem("the image ends in a partial block of " + filled + " bytes");
    }
    return scanner.report();
  }

  private static final class Scanner {
    private final List<String> bootLog = new ArrayList<>();
    private final List<Record> records = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private int moreProblems;
    private long emptySince = -1; // first block of the current stretch of empty blocks after block 0, or -1
    private final List<long[]> emptyStretches = new ArrayList<>();

    void block(long index, byte[] buffer, int offset) {
      if (isZero(buffer, offset)) {
        if (index > 0 && emptySince < 0) {
          emptySince = index;
        }
        return;
      }
      if (index > 0 && emptySince >= 0) {
        emptyStretches.add(new long[] {emptySince, index - 1});
        emptySince = -1;
      }
      String text = text(buffer, offset);
      if (index == 0) {
        bootLog(text);
        return;
      }
      String[] fields = firstLine(text).split(" ");
      if (fields.length < 3 || fields.length > 4 || !fields[0].equals(RECORD_TAG) || fields[2].isEmpty()) {
        problem("block " + index + " holds no record: " + quote(text));
        return;
      }
      long counter;
      try {
        counter = Long.parseLong(fields[1]);
      } catch (NumberFormatException e) {
        problem("block " + index + " holds no record: " + quote(text));
        return;
      }
      if (counter != index) {
        problem("block " + index + " holds record " + counter + " of " + fields[2]);
      }
      records.add(new Record(index, counter, fields[2], fields.length == 4 ? fields[3] : null));
    }

    private void bootLog(String text) {
      for (String line : text.split("\n")) {
        String[] fields = line.split(" ");
        if (fields.length == 2 && fields[0].equals(BOOT_TAG) && !fields[1].isEmpty()) {
          bootLog.add(fields[1]);
        } else if (!line.isEmpty()) {
          problem("block 0 (the boot log) holds " + quote(line));
        }
      }
    }

    void problem(String problem) {
      if (problems.size() < MAX_PROBLEMS) {
        problems.add(problem);
      } else {
        moreProblems++;
      }
    }

    Report report() {
      List<Run> runs = new ArrayList<>();
      Record start = null;
      Record previous = null;
      for (Record r : records) {
        if (start == null || !r.bootId().equals(previous.bootId()) || r.block() != previous.block() + 1) {
          if (start != null) {
            runs.add(new Run(start.bootId(), start.counter(), previous.counter()));
          }
          start = r;
        }
        previous = r;
      }
      if (start != null) {
        runs.add(new Run(start.bootId(), start.counter(), previous.counter()));
      }

      List<String> found = new ArrayList<>();
      if (records.isEmpty()) {
        found.add("no records");
      } else {
        long lastBlock = records.get(records.size() - 1).block();
        for (long[] stretch : emptyStretches) {
          if (stretch[1] < lastBlock) {
            found.add(stretch[0] == stretch[1] ? "block " + stretch[0] + " is empty (a gap)"
                : "blocks " + stretch[0] + ".." + stretch[1] + " are empty (a gap)");
          }
        }
        List<String> boots = List.copyOf(new LinkedHashSet<>(records.stream().map(Record::bootId).toList()));
        if (boots.size() > 1) {
          found.add(boots.size() + " boots wrote records (a restart or a second writer): runs " + runs);
        }
        if (!bootLog.isEmpty()) {
          if (bootLog.size() > 1) {
            found.add("the boot log has " + bootLog.size() + " boots: " + bootLog);
          }
          for (String boot : boots) {
            if (!bootLog.contains(boot)) {
              found.add("boot " + boot + " wrote records but is not in the boot log " + bootLog);
            }
          }
        }
      }
      found.addAll(problems);
      if (found.size() > MAX_PROBLEMS) {
        moreProblems += found.size() - MAX_PROBLEMS;
        found = new ArrayList<>(found.subList(0, MAX_PROBLEMS));
      }
      if (moreProblems > 0) {
        found.add("and " + moreProblems + " more");
      }
      return new Report(List.copyOf(bootLog), List.copyOf(records), List.copyOf(runs), List.copyOf(found));
    }
  }

  private static boolean isZero(byte[] buffer, int offset) {
    for (int i = offset; i < offset + BLOCK; i++) {
      if (buffer[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /** The block's text: its bytes up to the first NUL. */
  private static String text(byte[] buffer, int offset) {
    int end = offset;
    while (end < offset + BLOCK && buffer[end] != 0) {
      end++;
    }
    return new String(buffer, offset, end - offset, StandardCharsets.ISO_8859_1);
  }

  private static String firstLine(String text) {
    int newline = text.indexOf('\n');
    return newline < 0 ? text : text.substring(0, newline);
  }

  private static String quote(String text) {
    String shown = text.length() > 60 ? text.substring(0, 60) + "..." : text;
    return '"' + shown.replace("\n", "\\n") + '"';
  }

  static boolean isQcow2(Path image) throws IOException {
    byte[] magic = new byte[4];
    try (InputStream in = Files.newInputStream(image)) {
      if (in.readNBytes(magic, 0, 4) < 4) {
        return false;
      }
    }
    return Arrays.equals(magic, new byte[] {'Q', 'F', 'I', (byte) 0xfb});
  }

  private static void qemuImgToRaw(Path qcow2, Path raw) throws IOException {
    Path log = Files.createTempFile("qemu-img-", ".log");
    try {
      Process p = new ProcessBuilder("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", qcow2.toString(),
          raw.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("qemu-img convert " + qcow2 + " took over 2 minutes");
      }
      if (p.exitValue() != 0) {
        throw new IOException("qemu-img convert " + qcow2 + " failed (" + p.exitValue() + "): " + Files.readString(log));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted converting " + qcow2, e);
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** {@code java GuestDisk.java DISK [BOOT-ID]}: prints the report; exits 0 if the disk holds one unbroken run. */
  public static void main(String[] args) {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: java GuestDisk.java DISK [BOOT-ID]");
      System.exit(2);
    }
    Report report = read(Path.of(args[0]));
    System.out.println(report.summary());
    boolean ok = args.length == 2 ? report.unbrokenRunOf(args[1]) : report.unbroken();
    System.exit(ok ? 0 : 1);
  }
}
