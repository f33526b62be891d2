package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.api.Durations;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.MigrationMode;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The supervisor's command line, the seed's GetSupervisorArgs: everything the supervisor needs ahead of "--" and the
 * domain's own argv after it.
 *
 * <pre>
 * lockwarden-supervisor --domain ns/name --run-dir DIR [--lockspace-dir DIR] [--on-lease-loss Pause|Kill]
 *     [--pause-timeout 30s] [--stop-grace 30s] [--run-as-uid N --run-as-gid N] [--incoming Warm|Cold]
 *     [--cgroup DIR] [--unsafe-disable RULE,...] [--attach PID:STARTTIME]
 *     --lock MODE,EPOCH,LEASE,PATH ... -- command args...
 * </pre>
 * {@code --lock} may repeat; MODE is WRITE or READ; PATH comes last so that it may itself contain commas. The domain's
 * process runs as {@code --run-as-uid}/{@code --run-as-gid} when given, else as the supervisor's own user.
 * {@code --incoming} makes a migration target: the process is started stopped (Warm) or not at all (Cold), and held
 * until the agent removes the {@code hold} file from the run directory. {@code --cgroup} is the domain's own cgroup v2
 * directory (see {@code DomainProcesses}); without it the supervisor tracks the domain as a child subreaper.
 * {@code --attach} makes an attach-mode supervisor: the domain's process is one another program started (QEMU under
 * libvirt), named by its pid and start time; nothing follows "--", and the supervisor starts nothing (see
 * {@code AttachedProcess}).
 */
public record SupervisorArgs(String domain, Path runDir, Path lockspaceDir, LeaseLossAction onLeaseLoss,
    Duration pauseTimeout, Duration stopGrace, Integer runAsUid, Integer runAsGid, MigrationMode incoming,
    Path cgroup, Set<Unsafe> unsafe, Attach attach, List<Lock> locks, List<String> command) {

  /** The process an attach-mode supervisor watches: its pid, and its start time, so that a reused pid is not it. */
  public record Attach(long pid, String startTime) {
    public static Attach parse(String value) {
      String[] parts = value.split(":", 2);
      if (parts.length != 2 || parts[1].isBlank()) {
        throw new IllegalArgumentException("--attach takes PID:STARTTIME, got '" + value + "'");
      }
      return new Attach(Long.parseLong(parts[0]), parts[1]);
    }

    String value() {
      return pid + ":" + startTime;
    }

    /** Still that process, able to write (see {@link ProcStat#runs}). */
    public boolean alive() {
      return ProcStat.runs(pid, startTime);
    }
  }

  /**
   * Safety rules a negative control may switch off, to show that the checkers catch what each one prevents. Never in
   * production: the agent logs an error at start while any is set.
   */
  public enum Unsafe {
    /** Release an unplugged disk's lock although the domain still has it open (hole a). */
    UNPLUG_CHECK,
    /** Release Exclusive locks without stopping every process first or syncing the disk (hole b). */
    DRAIN,
    /** Let a held migration source run again under grants it did not hold when it was held (hole c). */
    STALE_HOLD;

    public static Set<Unsafe> parse(String value) {
      Set<Unsafe> set = EnumSet.noneOf(Unsafe.class);
      for (String part : value.split(",")) {
        if (!part.isBlank()) {
          set.add(Unsafe.valueOf(part.strip().toUpperCase().replace('-', '_')));
        }
      }
      return set;
    }
  }

  /**
   * One disk to lock: the grant it belongs to, so the fencing token travels with the lock.
   *
   * @param name the disk's path as the spec writes it: what a lockspace file is named by (virtlockd's rule), the same on
   *     every host, where {@code /dev/disk/by-id/...} resolves to a host's own {@code /dev/sdX}
   * @param path the file the node's policy resolved it to (symlinks followed): what is opened, locked without a
   *     lockspace, synced and looked for among the domain's open files
   */
  public record Lock(LockMode mode, long epoch, String lease, String name, Path path) {
    private static final String NAME = "name=";

    public Lock(LockMode mode, long epoch, String lease, Path path) {
      this(mode, epoch, lease, path.toString(), path);
    }

    String token() {
      return path + "=" + epoch;
    }

    /**
     * MODE,EPOCH,LEASE,PATH when the name is the path; else MODE,EPOCH,LEASE,name=URL-ENCODED-NAME,PATH: the --lock
     * value, and a line of the hot-plug file {@code locks}. PATH comes last, so it may hold commas.
     */
    public String line() {
      String prefix = mode + "," + epoch + "," + lease + ",";
      return name.equals(path.toString()) ? prefix + path
          : prefix + NAME + URLEncoder.encode(name, StandardCharsets.UTF_8) + "," + path;
    }

    public static Lock parse(String value) {
      String[] parts = value.split(",", 4);
      if (parts.length != 4) {
        throw new IllegalArgumentException("--lock takes MODE,EPOCH,LEASE,[name=NAME,]PATH, got '" + value + "'");
      }
      String rest = parts[3];
      String name = null;
      if (rest.startsWith(NAME)) { // a path is absolute, so it never starts with "name="
        int comma = rest.indexOf(',');
        if (comma < 0) {
          throw new IllegalArgumentException("--lock: name=NAME must be followed by ,PATH in '" + value + "'");
        }
        name = URLDecoder.decode(rest.substring(NAME.length(), comma), StandardCharsets.UTF_8);
        rest = rest.substring(comma + 1);
      }
      Path path = Path.of(rest);
      return new Lock(LockMode.valueOf(parts[0]), Long.parseLong(parts[1]), parts[2], name == null ? rest : name,
          path);
    }
  }

  public static SupervisorArgs parse(String[] args) {
    int separator = Arrays.asList(args).indexOf("--");
    if (separator < 0) {
      throw new IllegalArgumentException("missing '-- command...' after the supervisor's own arguments");
    }
    String domain = null;
    Path runDir = null;
    Path lockspace = null;
    LeaseLossAction onLoss = LeaseLossAction.Pause;
    Duration pause = Duration.ofSeconds(30);
    Duration grace = Duration.ofSeconds(30);
    Integer uid = null;
    Integer gid = null;
    MigrationMode incoming = null;
    Path cgroup = null;
    Set<Unsafe> unsafe = EnumSet.noneOf(Unsafe.class);
    Attach attach = null;
    List<Lock> locks = new ArrayList<>();
    for (int i = 0; i < separator; i += 2) {
      if (i + 1 >= separator) {
        throw new IllegalArgumentException("option " + args[i] + " needs a value");
      }
      String value = args[i + 1];
      switch (args[i]) {
        case "--domain" -> domain = value;
        case "--run-dir" -> runDir = Path.of(value);
        case "--lockspace-dir" -> lockspace = Path.of(value);
        case "--on-lease-loss" -> onLoss = LeaseLossAction.valueOf(value);
        case "--pause-timeout" -> pause = Durations.parse("--pause-timeout", value);
        case "--stop-grace" -> grace = Durations.parse("--stop-grace", value);
        case "--run-as-uid" -> uid = Integer.valueOf(value);
        case "--run-as-gid" -> gid = Integer.valueOf(value);
        case "--incoming" -> incoming = MigrationMode.valueOf(value);
        case "--cgroup" -> cgroup = Path.of(value);
        case "--unsafe-disable" -> unsafe = Unsafe.parse(value);
        case "--attach" -> attach = Attach.parse(value);
        case "--lock" -> locks.add(Lock.parse(value));
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (domain == null || runDir == null) {
      throw new IllegalArgumentException("--domain and --run-dir are required");
    }
    List<String> command = List.of(args).subList(separator + 1, args.length);
    if (command.isEmpty() == (attach == null)) {
      throw new IllegalArgumentException(attach == null ? "missing the command after '--'"
          : "--attach starts nothing: no command may follow '--'");
    }
    if ((uid == null) != (gid == null)) {
      throw new IllegalArgumentException("--run-as-uid and --run-as-gid go together");
    }
    return new SupervisorArgs(domain, runDir, lockspace, onLoss, pause, grace, uid, gid, incoming, cgroup,
        Set.copyOf(unsafe), attach, List.copyOf(locks), command);
  }

  /** The arguments again, ending with "--" and the command: what status.supervisor.args shows. */
  public List<String> toArgs() {
    List<String> out = new ArrayList<>(List.of("--domain", domain, "--run-dir", runDir.toString()));
    if (lockspaceDir != null) {
      out.addAll(List.of("--lockspace-dir", lockspaceDir.toString()));
    }
    out.addAll(List.of("--on-lease-loss", onLeaseLoss.name(), "--pause-timeout", pauseTimeout.toMillis() + "ms",
        "--stop-grace", stopGrace.toMillis() + "ms"));
    if (runAsUid != null) {
      out.addAll(List.of("--run-as-uid", runAsUid.toString(), "--run-as-gid", runAsGid.toString()));
    }
    if (incoming != null) {
      out.addAll(List.of("--incoming", incoming.name()));
    }
    if (cgroup != null) {
      out.addAll(List.of("--cgroup", cgroup.toString()));
    }
    if (!unsafe.isEmpty()) {
      out.addAll(List.of("--unsafe-disable", unsafe.stream().map(Enum::name).sorted().collect(Collectors.joining(","))));
    }
    if (attach != null) {
      out.addAll(List.of("--attach", attach.value()));
    }
    for (Lock lock : locks) {
      out.addAll(List.of("--lock", lock.line()));
    }
    out.add("--");
    out.addAll(command);
    return out;
  }
}
