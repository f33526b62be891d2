package io.lockwarden.e2e.chaos;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
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
 * Proves or refutes "never two writers" after a chaos run, from the evidence only: the records the demo workload
 * appended to each disk (file order is write order, as every record is one O_APPEND write) and the DiskLease versions
 * the run observed. A writer is one process under one grant (uid, pid, epoch); a token is the grant (uid, epoch).
 * A grant whose mode the history does not know counts as Exclusive: unknown must never look compatible.
 */
public final class SplitBrainChecker {
  /** How many violations summary() shows; Report.violations() has them all. */
  static final int SUMMARY_LIMIT = 20;
  private static final ObjectReader JSON =
      Serialization.jsonMapper().readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private SplitBrainChecker() {}

  public enum Kind { STALE_WRITER, INTERLEAVED_WRITERS, UNGRANTED_WRITE, INCOMPATIBLE_HOLDERS }

  /** {@code lease} is null when no observed lease names the disk. */
  public record Violation(Kind kind, String disk, String lease, String detail) {
    @Override
    public String toString() {
      return kind + " " + disk + " (lease " + (lease == null ? "-" : lease) + "): " + detail;
    }
  }

  /** Writers are counted per disk: one process writing two disks is two writers. */
  public record Report(int recordsRead, int disks, int writers, int unparsableLines, int leaseVersions, int grants,
      List<Violation> violations) {
    public Report {
      violations = List.copyOf(violations);
    }

    public boolean clean() {
      return violations.isEmpty();
    }

    public String summary() {
      StringBuilder out = new StringBuilder(String.format("split-brain check: %d records on %d disks from %d writers, "
          + "%d unparsable lines; %d lease versions, %d grants%n", recordsRead, disks, writers, unparsableLines,
          leaseVersions, grants));
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

  /** One record as the demo workload writes it; {@code line} is its 1-based line in the disk file. */
  record DiskRecord(int line, String domain, String uid, String node, long pid, String disk, long epoch) {
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
    for (Path file : diskFiles) {
      DiskFile disk = DiskFile.read(file);
      records += disk.records.size();
      unparsable += disk.unparsable;
      writers += new DiskCheck(file, disk.records, leases, violations).run();
    }
    violations.addAll(incompatibleHolders(history));
    return new Report(records, diskFiles.size(), writers, unparsable, history.size(), leases.grants.size(),
        violations);
  }

  /** The parsed records of one disk file, in file order, and how many lines did not parse. */
  private record DiskFile(List<DiskRecord> records, int unparsable) {
    static DiskFile read(Path file) throws IOException {
      List<DiskRecord> records = new ArrayList<>();
      int unparsable = 0;
      // Malformed UTF-8 (a binary header, a torn write) becomes replacement characters, which then fail to parse.
      try (BufferedReader in = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
          StandardCharsets.UTF_8))) {
        int number = 0;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
          number++;
          if (line.isBlank()) {
            continue;
          }
          DiskRecord record = parse(line, number);
          if (record == null) {
            unparsable++;
            // A record glued to bytes before it (a header without a newline, a torn record): records hold no nested
            // object, so the last '{' starts the last record of the line.
            int brace = line.lastIndexOf('{');
            record = brace > 0 ? parse(line.substring(brace), number) : null;
          }
          if (record != null) {
            records.add(record);
          }
        }
      }
      return new DiskFile(records, unparsable);
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
          node.path("epoch").asLong());
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

  /** The three record checks on one disk. */
  private static final class DiskCheck {
    private final String disk;
    private final List<DiskRecord> records;
    private final List<String> leaseOf = new ArrayList<>();
    private final Leases leases;
    private final List<Violation> violations;

    DiskCheck(Path file, List<DiskRecord> records, Leases leases, List<Violation> violations) {
      this.disk = file.toString();
      this.records = records;
      this.leases = leases;
      this.violations = violations;
      // The file checked is the disk written; a record's own "disk" only names the lease when the file cannot (a
      // copy taken off the node). Resolved once per name: the lookup touches the file system.
      String fileLease = leases.ofFile(file);
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
      return ranges.size();
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
