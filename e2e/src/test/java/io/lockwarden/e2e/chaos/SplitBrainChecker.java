package io.lockwarden.e2e.chaos;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Proves or refutes "never two writers" after a chaos run, from the evidence only: the records the workloads wrote
 * to each disk and the DiskLease versions the run observed. A writer is one process under one grant (uid, pid,
 * epoch); a token is the grant (uid, epoch). A grant whose mode the history does not know counts as Exclusive: unknown
 * must never look compatible.
 *
 * <p>Two workloads write the records. The demo workload appends them (one O_APPEND write each, so file order is write
 * order). The stubborn writer (e2e/workload/lockwarden-stubborn-writer) writes as a VM does: at an offset of its own,
 * overwriting whatever another process appended, and it never stops writing a disk it opened. Its tail records are in
 * write order only while it writes alone; a second writer's bytes may be gone. So it also keeps a head slot, the
 * first line of the file (a record with {@code "head":true}), rewritten every round before the tail record, and its
 * tail records say {@code "head":false}. The head is not in write order and is not one of the ordered records: it
 * shows who wrote the slot last. Evidence the overwriting destroyed is not needed to convict: a stale head, or the
 * wreckage of records (lines that are not whole records) in a file with a head slot, are violations of their own.
 */
public final class SplitBrainChecker {
  /** How many violations summary() shows; Report.violations() has them all. */
  static final int SUMMARY_LIMIT = 20;
  private static final ObjectReader JSON =
      Serialization.jsonMapper().readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SplitBrainChecker() {}

  /** A line of a disk file holding this is a head slot (the stubborn writer's first line). */
  static final String HEAD_MARK = "\"head\":true";

  /**
   * What a violation shows; {@link Report#summary} groups by kind.
   *
   * <ul>
   *   <li>{@code STALE_WRITER}: a record under an older epoch after a newer holder's record on the same disk.
   *   <li>{@code INTERLEAVED_WRITERS}: two writers' records interleave on one disk, one of them Exclusive.
   *   <li>{@code UNGRANTED_WRITE}: a writer whose token no observed version of the disk's lease listed as a holder.
   *   <li>{@code INCOMPATIBLE_HOLDERS}: an observed DiskLease version lists an Exclusive holder beside any other.
   *   <li>{@code STALE_HEAD}: the head slot holds an epoch below the newest tail record of a head-writing workload.
   *       A kind of its own, not a {@code STALE_WRITER}: the head is no record in file order but the last write to
   *       one spot, so it convicts even once the overwriting has destroyed the tail records that would show the
   *       order, and the reader of a report must look at line 1, not at a range of lines.
   *   <li>{@code STALE_RESUME}: a process wrote again after another copy of its domain (same uid, another pid) wrote
   *       at a newer epoch, whatever epoch it then writes under: a held migration source resumed after the target ran.
   *   <li>{@code OVERWRITTEN}: a file with a head slot holds lines that are not whole records.
   * </ul>
   */
  public enum Kind {
    STALE_WRITER, INTERLEAVED_WRITERS, UNGRANTED_WRITE, INCOMPATIBLE_HOLDERS, STALE_HEAD, STALE_RESUME, OVERWRITTEN
  }

  /** {@code lease} is null when no observed lease names the disk. */
  public record Violation(Kind kind, String disk, String lease, String detail) {
    @Override
    public String toString() {
      return kind + " " + disk + " (lease " + (lease == null ? "-" : lease) + "): " + detail;
    }
  }

  /**
   * Writers are counted per disk: one process writing two disks is two writers. {@code headSlots}: files with a head
   * slot (whose heads {@code recordsRead} does not count).
   */
  public record Report(int recordsRead, int disks, int writers, int unparsableLines, int headSlots, int leaseVersions,
      int grants, List<Violation> violations) {
    public Report {
      violations = List.copyOf(violations);
    }

    public boolean clean() {
      return violations.isEmpty();
    }

    public String summary() {
      StringBuilder out = new StringBuilder(String.format("split-brain check: %d records on %d disks from %d writers, "
          + "%d unparsable lines, %d head slots; %d lease versions, %d grants%n", recordsRead, disks, writers,
          unparsableLines, headSlots, leaseVersions, grants));
      if (violations.isEmpty()) {
        return out.append("no violations").append(System.lineSeparator()).toString();
      }
      Map<Kind, Long> byKind = new EnumMap<>(Kind.class);
      violations.forEach(v -> byKind.merge(v.kind(), 1L, Long::sum));
      out.append(violations.size()).append(" violations: ").append(byKind.entrySet().stream()
          .map(e -> e.getKey() + " " + e.getValue()).collect(Collectors.joining(", "))).append(System.lineSeparator());
      violations.stream().limit(SUMMARY_LIMIT).forEach(v -> out.append("  ").append(v).append(System.lineSeparator()));
      if (violations.size() > SUMMARY_LIMIT) {
        out.append("  and ").append(violations.size() - SUMMARY_LIMIT).append(" more").append(System.lineSeparator());
      }
      return out.toString();
    }
  }

  /**
   * One record as a workload writes it; {@code line} is its 1-based line in the disk file, {@code seq} -1 if it has
   * none. {@code headWriter}: the record has a "head" key, so its writer rewrites the head slot before every tail
   * record (the stubborn writer); {@code head}: it is that slot.
   */
  record DiskRecord(int line, String domain, String uid, String node, long pid, String disk, long epoch, long seq,
      boolean headWriter, boolean head) {
    Writer writer() {
      return new Writer(uid, pid, epoch);
    }

    Token token() {
      return new Token(uid, epoch);
    }

    /** The human half of every detail: who wrote, from where, under which token. */
    String who() {
      return domain + " on " + node + " pid " + pid + " epoch " + epoch;
    }
  }

  record Writer(String uid, long pid, long epoch) {}

  record Token(String uid, long epoch) {}

  private record Grant(String lease, Token token) {}

  public static Report check(Collection<Path> diskFiles, List<LeaseVersion> history) throws IOException {
    return check(diskFiles, Map.of(), history);
  }

  /**
   * @param leaseByFile leases of disk files the lease paths cannot name (a copy of the disk, say); files not in it are
   *     matched to the lease whose spec.path is the same file, then to the lease of each record's "disk"
   */
  public static Report check(Collection<Path> diskFiles, Map<Path, String> leaseByFile, List<LeaseVersion> history)
      throws IOException {
    Leases leases = new Leases(history, leaseByFile);
    List<Violation> violations = new ArrayList<>();
    int records = 0;
    int writers = 0;
    int unparsable = 0;
    int headSlots = 0;
    for (Path file : diskFiles) {
      DiskFile disk = DiskFile.read(file);
      records += disk.records.size();
      unparsable += disk.unparsable;
      headSlots += disk.headSlot ? 1 : 0;
      writers += new DiskCheck(file, disk, leases, violations).run();
    }
    violations.addAll(incompatibleHolders(history));
    return new Report(records, diskFiles.size(), writers, unparsable, headSlots, history.size(),
        leases.grants.size(), violations);
  }

  /**
   * One disk file as read: whether it has a head slot and the slot's record (null if it does not parse), the other
   * records in file order, how many lines did not parse, and the lines that show overwriting ({@code clobbered}, line
   * numbers; {@code firstClobbered}, the first of them as text).
   */
  private record DiskFile(boolean headSlot, DiskRecord head, List<DiskRecord> records, int unparsable,
      List<Integer> clobbered, String firstClobbered) {
    /** How much of the file's start is read again for the head slot: the stubborn writer's slot is 512 bytes. */
    private static final int HEAD_READ = 4096;

    /**
     * Lines that do not parse are counted and skipped, as headers and torn writes make them, except in a file with a
     * head slot: only the stubborn writer makes one, and it writes whole records at offsets nobody else uses unless a
     * second writer is at work; so there a line that is not one whole record (nothing parses, or a record parses only
     * once the bytes glued before it are cut off) is a record partly overwritten. The last line, when the file does
     * not end with a newline, is a write in progress as the file was read (or cut off by SIGKILL), never evidence.
     *
     * <p>One false alarm remains possible: the kernel may cut a write short on SIGKILL only between pages, so a
     * stubborn record that crosses a page boundary can be torn by the SIGKILL that ends every stop, and the next
     * writer of that file then glues its first record to the torn one. The writer spends microseconds of each
     * interval in write(2) and few records cross a page, so that is well under one in a million kills.
     */
    static DiskFile read(Path file) throws IOException {
      byte[] bytes = Files.readAllBytes(file);
      // The head slot is read again after the rest, the reverse of the writer's order (head, then tail): a tail record
      // read at epoch E was preceded by a head at E, so the slot read afterwards holds E or newer unless an older token
      // wrote it since. Read first, the slot could be older than tail records written while the file was read.
      String slot = headSlotLine(file);
      // Malformed UTF-8 (a binary header, a torn write) becomes replacement characters, which then fail to parse.
      String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
      boolean headSlot = lines[0].contains(HEAD_MARK) || slot.contains(HEAD_MARK);
      DiskRecord head = null;
      List<DiskRecord> records = new ArrayList<>();
      List<Integer> clobbered = new ArrayList<>();
      String firstClobbered = null;
      int unparsable = 0;
      for (int i = 0; i < lines.length; i++) {
        int number = i + 1;
        String line = i == 0 && headSlot ? slot : lines[i];
        if (line.isBlank()) {
          continue;
        }
        DiskRecord record = parse(line, number);
        boolean whole = record != null && record.head() == (i == 0 && headSlot);
        if (i == 0 && headSlot) {
          head = whole ? record : null;
          record = null;
        } else if (record == null) {
          // A record glued to bytes before it (a header without a newline, a torn record): records hold no nested
          // object, so the last '{' starts the last record of the line.
          int brace = line.lastIndexOf('{');
          record = brace > 0 ? parse(line.substring(brace), number) : null;
        }
        if (record != null && record.head()) {
          record = null; // a head slot anywhere but at the start is the wreck of one
        }
        if (!whole) {
          unparsable++;
          if (headSlot && (i == 0 || i < lines.length - 1)) {
            clobbered.add(number);
            firstClobbered = firstClobbered != null ? firstClobbered : line;
          }
        }
        if (record != null) {
          records.add(record);
        }
      }
      return new DiskFile(headSlot, head, records, unparsable, clobbered, firstClobbered);
    }

    /** The file's first line, read until two reads agree: a read may meet the writer rewriting the slot. */
    private static String headSlotLine(Path file) throws IOException {
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
        String last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
          ByteBuffer buffer = ByteBuffer.allocate(HEAD_READ);
          while (buffer.hasRemaining() && channel.read(buffer, buffer.position()) > 0) {
            // read on: a short read is not the end of the file
          }
          String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
          String line = text.indexOf('\n') < 0 ? text : text.substring(0, text.indexOf('\n'));
          if (line.equals(last)) {
            return line;
          }
          last = line;
        }
        return last;
      }
    }

    private static DiskRecord parse(String json, int line) {
      JsonNode node;
      try {
        node = JSON.readValue(json);
      } catch (IOException e) {
        return null;
      }
      if (node == null || !node.isObject() || !node.path("uid").isTextual() || !isLong(node.path("pid"))
          || !isLong(node.path("epoch"))) {
        return null;
      }
      return new DiskRecord(line, node.path("domain").asText(""), node.path("uid").asText(),
          node.path("node").asText(""), node.path("pid").asLong(), node.path("disk").asText(""),
          node.path("epoch").asLong(), isLong(node.path("seq")) ? node.path("seq").asLong() : -1,
          node.path("head").isBoolean(), node.path("head").asBoolean(false));
    }

    private static boolean isLong(JsonNode node) {
      return node.isIntegralNumber() && node.canConvertToLong();
    }
  }

  /** What the history says: which lease names which file, and every grant with its mode. */
  private static final class Leases {
    final Map<Grant, AccessMode> grants = new HashMap<>();
    final Set<String> observed = new LinkedHashSet<>();
    private final Map<Path, Set<String>> byPath = new HashMap<>();
    private final Map<Path, String> byFile = new HashMap<>();

    Leases(List<LeaseVersion> history, Map<Path, String> leaseByFile) {
      for (LeaseVersion version : history) {
        observed.add(version.name());
        if (version.path() != null) {
          keys(version.path()).forEach(key -> byPath.computeIfAbsent(key, k -> new TreeSet<>()).add(version.name()));
        }
        for (LeaseHolder holder : version.holders()) {
          if (holder.uid != null && holder.epoch != null) {
            // The first observation's mode: a grant's mode never changes, and a later malformed one must not hide it.
            grants.putIfAbsent(new Grant(version.name(), new Token(holder.uid, holder.epoch)), holder.mode);
          }
        }
      }
      leaseByFile.forEach((file, lease) -> keys(file.toString()).forEach(key -> byFile.put(key, lease)));
    }

    /** The lease of the disk {@code file}, given or by its path; null when none names it. */
    String ofFile(Path file) {
      for (Path key : keys(file.toString())) {
        if (byFile.containsKey(key)) {
          return byFile.get(key);
        }
      }
      return byPath(file.toString());
    }

    boolean granted(String lease, Token token) {
      return grants.containsKey(new Grant(lease, token));
    }

    /** Exclusive unless the history shows the grant as Shared or ReadOnly. */
    boolean exclusive(String lease, Token token) {
      AccessMode mode = grants.get(new Grant(lease, token));
      return mode == null || mode == AccessMode.Exclusive;
    }

    /** The lease whose spec.path is {@code path}, or the same file; null when none. */
    String byPath(String path) {
      Set<String> names = new TreeSet<>();
      keys(path).forEach(key -> names.addAll(byPath.getOrDefault(key, Set.of())));
      if (names.size() > 1) {
        // Grants and epochs are per lease: mixing two leases' histories would make up or hide violations.
        throw new IllegalArgumentException("leases " + names + " all name " + path + ": pass the file's lease");
      }
      return names.isEmpty() ? null : names.iterator().next();
    }

    /** The path as written, absolute and normalised, and the file it resolves to when it exists (symlinks). */
    private static Set<Path> keys(String path) {
      Set<Path> keys = new LinkedHashSet<>();
      try {
        Path absolute = Path.of(path).toAbsolutePath().normalize();
        keys.add(absolute);
        keys.add(absolute.toRealPath());
      } catch (InvalidPathException | IOException e) {
        // Not a path, or no such file: the names already added are all there is to compare.
      }
      return keys;
    }
  }

  /** The checks on one disk file. */
  private static final class DiskCheck {
    /** How much of a clobbered line a violation quotes. */
    private static final int QUOTE = 80;
    private final String disk;
    private final DiskFile file;
    private final List<DiskRecord> records;
    private final List<String> leaseOf = new ArrayList<>();
    private final String fileLease;
    private final Leases leases;
    private final List<Violation> violations;

    DiskCheck(Path path, DiskFile file, Leases leases, List<Violation> violations) {
      this.disk = path.toString();
      this.file = file;
      this.records = file.records();
      this.leases = leases;
      this.violations = violations;
      // The file checked is the disk written; a record's own "disk" only names the lease when the file cannot (a
      // copy taken off the node). Resolved once per name: the lookup touches the file system.
      this.fileLease = leases.ofFile(path);
      Map<String, Optional<String>> byDisk = new HashMap<>();
      records.forEach(record -> leaseOf.add(fileLease != null ? fileLease
          : byDisk.computeIfAbsent(record.disk(), d -> Optional.ofNullable(leases.byPath(d))).orElse(null)));
    }

    /** Adds this disk's violations; returns how many writers wrote it. */
    int run() {
      staleWriters();
      Map<Writer, Range> ranges = ranges();
      interleavedWriters(ranges);
      ungrantedWrites(ranges);
      staleHead();
      staleResumes();
      overwritten();
      return ranges.size();
    }

    /**
     * The head slot at a lower epoch than the newest tail record of a head-writing workload. Such a workload writes
     * the head before each tail record, so its tail record at epoch E was preceded by a head at E: a lower epoch in the
     * slot now was written after that, by an older token, even if the overwriting has left no tail record of the older
     * token after the newer one's. As for STALE_WRITER, a Shared head only counts against an Exclusive tail record.
     * Tail records without a "head" key (the demo workload's) do not count: a demo workload that took the disk over
     * from a stubborn writer that had stopped leaves the old head behind, rightly.
     */
    private void staleHead() {
      DiskRecord head = file.head();
      if (head == null) {
        return;
      }
      String lease = fileLease != null ? fileLease : leases.byPath(head.disk());
      boolean headExclusive = lease == null || leases.exclusive(lease, head.token());
      DiskRecord newer = null;
      for (int i = 0; i < records.size(); i++) {
        DiskRecord record = records.get(i);
        if (record.headWriter() && (headExclusive || exclusive(i)) && record.epoch() > head.epoch()
            && (newer == null || record.epoch() > newer.epoch())) {
          newer = record;
        }
      }
      if (newer != null) {
        violations.add(new Violation(Kind.STALE_HEAD, disk, lease, "the head slot (line 1) was last written by "
            + head.who() + ", after " + newer.who() + " wrote its head and then line " + newer.line()));
      }
    }

    /**
     * A process that wrote, then saw another copy of its domain (same uid, another pid) write at a newer epoch, and
     * then wrote again, at any epoch: a held migration source resumed after the target had run. Its memory of the disk
     * is stale even under a fresh token. One violation per process. Unless both were Shared (or ReadOnly) grants.
     *
     * <p>Only another copy of the same domain counts. A different domain writing in between is a hot-plug hand-over
     * (unplugged here, plugged there, plugged here again at a newer epoch), which is legitimate; a process that went on
     * writing through it under its old token is a STALE_WRITER. A process is a uid and a pid whose records' seq keeps
     * growing: a seq that starts again is a new process under a recycled pid, not a resumed one.
     */
    private void staleResumes() {
      Map<String, Map<Long, ProcessWrites>> byUid = new HashMap<>();
      for (int i = 0; i < records.size(); i++) {
        DiskRecord record = records.get(i);
        Map<Long, ProcessWrites> ofUid = byUid.computeIfAbsent(record.uid(), u -> new HashMap<>());
        ProcessWrites process = ofUid.get(record.pid());
        if (process == null || record.seq() >= 0 && process.last.seq() >= 0 && record.seq() <= process.last.seq()) {
          process = new ProcessWrites(record);
          ofUid.put(record.pid(), process);
        }
        if (process.overtakenBy != null && !process.reported) {
          process.reported = true;
          violations.add(new Violation(Kind.STALE_RESUME, disk, leaseOf.get(i), process.last.who() + " wrote line "
              + process.last.line() + ", then " + process.overtakenBy.who() + " wrote line "
              + process.overtakenBy.line() + ", then pid " + record.pid() + " wrote again at epoch " + record.epoch()
              + ", line " + record.line()));
        }
        process.wrote(record, exclusive(i));
        for (ProcessWrites other : ofUid.values()) {
          if (other != process && other.overtakenBy == null && other.newest < record.epoch()
              && (other.exclusive || exclusive(i))) {
            other.overtakenBy = record;
          }
        }
      }
    }

    /** One violation per file with a head slot that holds lines that are not whole records (see DiskFile.read). */
    private void overwritten() {
      if (file.clobbered().isEmpty()) {
        return;
      }
      String quote = file.firstClobbered().codePoints()
          .map(c -> c < 0x20 || c == 0x7f || c == 0xfffd ? '?' : c).limit(QUOTE)
          .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
      violations.add(new Violation(Kind.OVERWRITTEN, disk, fileLease, file.clobbered().size() + " line(s) of a file "
          + "with a head slot are not whole records, lines " + file.clobbered().stream().limit(5).map(String::valueOf)
          .collect(Collectors.joining(", ")) + (file.clobbered().size() > 5 ? ", ..." : "") + "; line "
          + file.clobbered().get(0) + " starts \"" + quote + "\""));
    }

    /** One process's writes so far, for staleResumes. */
    private static final class ProcessWrites {
      DiskRecord last;
      long newest;
      boolean exclusive;
      DiskRecord overtakenBy;
      boolean reported;

      ProcessWrites(DiskRecord first) {
        last = first;
        newest = first.epoch();
      }

      void wrote(DiskRecord record, boolean exclusiveGrant) {
        last = record;
        newest = Math.max(newest, record.epoch());
        exclusive |= exclusiveGrant;
      }
    }

    /**
     * A record under a lower epoch than an earlier one: the older token wrote after the newer holder had. Two Shared
     * grants may write in any order, so the newer record only counts when one of the two is Exclusive. One violation
     * per stale writer, at its first stale record.
     */
    private void staleWriters() {
      DiskRecord newestAny = null;
      DiskRecord newestExclusive = null;
      Set<Writer> reported = new LinkedHashSet<>();
      for (int i = 0; i < records.size(); i++) {
        DiskRecord record = records.get(i);
        boolean exclusive = exclusive(i);
        DiskRecord newer = exclusive ? newestAny : newestExclusive;
        if (newer != null && newer.epoch() > record.epoch() && reported.add(record.writer())) {
          violations.add(new Violation(Kind.STALE_WRITER, disk, leaseOf.get(i), record.who() + " wrote line "
              + record.line() + " after " + newer.who() + " wrote line " + newer.line()));
        }
        if (newestAny == null || record.epoch() > newestAny.epoch()) {
          newestAny = record;
        }
        if (exclusive && (newestExclusive == null || record.epoch() > newestExclusive.epoch())) {
          newestExclusive = record;
        }
      }
    }

    /** A ... B ... A on one disk, unless both were Shared (or ReadOnly) grants. */
    private void interleavedWriters(Map<Writer, Range> ranges) {
      List<Range> byFirst = new ArrayList<>(ranges.values());
      for (int a = 0; a < byFirst.size(); a++) {
        Range first = byFirst.get(a);
        for (int b = a + 1; b < byFirst.size() && byFirst.get(b).first < first.last; b++) {
          Range second = byFirst.get(b);
          if (exclusive(first.first) || exclusive(second.first)) {
            violations.add(new Violation(Kind.INTERLEAVED_WRITERS, disk, leaseOf.get(first.first),
                first.describe() + " and " + second.describe() + " interleaved"));
          }
        }
      }
    }

    /** One violation per writer whose token the lease never listed as a holder. */
    private void ungrantedWrites(Map<Writer, Range> ranges) {
      for (Range range : ranges.values()) {
        DiskRecord record = records.get(range.first);
        String lease = leaseOf.get(range.first);
        String why;
        if (lease == null) {
          why = "no observed lease names this disk";
        } else if (!leases.observed.contains(lease)) {
          why = "lease " + lease + " was never observed";
        } else if (!leases.granted(lease, record.token())) {
          why = "lease " + lease + " never listed uid " + record.uid() + " at epoch " + record.epoch() + " as a holder";
        } else {
          continue;
        }
        violations.add(new Violation(Kind.UNGRANTED_WRITE, disk, lease, range.describe() + ": " + why));
      }
    }

    /** Each writer's first and last record, in order of first record. */
    private Map<Writer, Range> ranges() {
      Map<Writer, Range> ranges = new LinkedHashMap<>();
      for (int i = 0; i < records.size(); i++) {
        int index = i;
        ranges.computeIfAbsent(records.get(i).writer(), w -> new Range(index)).add(i);
      }
      return ranges;
    }

    private boolean exclusive(int index) {
      String lease = leaseOf.get(index);
      return lease == null || leases.exclusive(lease, records.get(index).token());
    }

    /** Indexes into {@code records}. */
    private final class Range {
      final int first;
      int last;
      int count;

      Range(int first) {
        this.first = first;
      }

      void add(int index) {
        last = index;
        count++;
      }

      String describe() {
        DiskRecord record = records.get(first);
        return record.who() + (count == 1 ? " (1 record, line " + record.line() + ")"
            : " (" + count + " records, lines " + record.line() + "-" + records.get(last).line() + ")");
      }
    }
  }

  /** An observed version with an Exclusive holder beside any other: the operator granted a split brain. */
  private static List<Violation> incompatibleHolders(List<LeaseVersion> history) {
    List<Violation> violations = new ArrayList<>();
    for (LeaseVersion version : history) {
      List<LeaseHolder> holders = version.holders();
      if (holders.size() >= 2 && holders.stream().anyMatch(h -> h.mode == null || h.mode == AccessMode.Exclusive)) {
        violations.add(new Violation(Kind.INCOMPATIBLE_HOLDERS, version.path(), version.name(), "resourceVersion "
            + version.resourceVersion() + " lists " + holders.stream()
            .map(h -> h.domain + " on " + h.node + " epoch " + h.epoch + " " + h.mode)
            .collect(Collectors.joining(", "))));
      }
    }
    return violations;
  }
}
