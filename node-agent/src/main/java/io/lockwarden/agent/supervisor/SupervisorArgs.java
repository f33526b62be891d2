package io.lockwarden.agent.supervisor;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.api.Durations;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.MigrationMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The supervisor's command line, the seed's GetSupervisorArgs: everything the supervisor needs ahead of "--" and the
 * domain's own argv after it.
 *
 * <pre>
 * lockwarden-supervisor --domain ns/name --run-dir DIR [--lockspace-dir DIR] [--on-lease-loss Pause|Kill]
 *     [--pause-timeout 30s] [--stop-grace 30s] [--run-as-uid N --run-as-gid N] [--incoming Live|Cold]
 *     --lock MODE,EPOCH,LEASE,PATH ... -- command args...
 * </pre>
 * {@code --lock} may repeat; MODE is WRITE or READ; PATH comes last so that it may itself contain commas. The domain's
 * process runs as {@code --run-as-uid}/{@code --run-as-gid} when given, else as the supervisor's own user.
 * {@code --incoming} makes a migration target: the process is started stopped (Live) or not at all (Cold), and held
 * until the agent removes the {@code hold} file from the run directory.
 */
public record SupervisorArgs(String domain, Path runDir, Path lockspaceDir, LeaseLossAction onLeaseLoss,
    Duration pauseTimeout, Duration stopGrace, Integer runAsUid, Integer runAsGid, MigrationMode incoming,
    List<Lock> locks, List<String> command) {

  /** One disk to lock: the grant it belongs to, so the fencing token travels with the lock. */
  public record Lock(LockMode mode, long epoch, String lease, Path path) {
    String token() {
      return path + "=" + epoch;
    }

    /** MODE,EPOCH,LEASE,PATH: the --lock value, and a line of the hot-plug file {@code locks}. */
    public String line() {
      return mode + "," + epoch + "," + lease + "," + path;
    }

    public static Lock parse(String value) {
      String[] parts = value.split(",", 4);
      if (parts.length != 4) {
        throw new IllegalArgumentException("--lock takes MODE,EPOCH,LEASE,PATH, got '" + value + "'");
      }
      return new Lock(LockMode.valueOf(parts[0]), Long.parseLong(parts[1]), parts[2], Path.of(parts[3]));
    }
  }

  public static SupervisorArgs parse(String[] args) {
    int separator = Arrays.asList(args).indexOf("--");
    if (separator < 0 || separator == args.length - 1) {
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
        case "--lock" -> locks.add(Lock.parse(value));
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (domain == null || runDir == null) {
      throw new IllegalArgumentException("--domain and --run-dir are required");
    }
    List<String> command = List.of(args).subList(separator + 1, args.length);
    if ((uid == null) != (gid == null)) {
      throw new IllegalArgumentException("--run-as-uid and --run-as-gid go together");
    }
    return new SupervisorArgs(domain, runDir, lockspace, onLoss, pause, grace, uid, gid, incoming, List.copyOf(locks),
        command);
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
    for (Lock lock : locks) {
      out.addAll(List.of("--lock", lock.line()));
    }
    out.add("--");
    out.addAll(command);
    return out;
  }
}
