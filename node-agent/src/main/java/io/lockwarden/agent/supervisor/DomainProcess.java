package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jnr.constants.platform.Signal;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.posix.SpawnAttribute;
import jnr.posix.SpawnFileAction;

/**
 * The domain's main process:
 * <ul>
 *   <li>it inherits no lock descriptor: the locks stay the supervisor's alone, so the domain can never unlock them
 *       (an OFD lock belongs to its open file description, and any holder of a copy could F_UNLCK it), as virtlockd
 *       keeps its locks out of QEMU (docs/safety.md, SEC-4);
 *   <li>it runs under {@code setpriv --pdeathsig KILL}, so it is SIGKILLed when the supervisor's spawning thread (the
 *       main thread, alive until the supervisor ends) dies;
 *   <li>it leads its own process group, so a SIGTERM reaches its children too; everything else (pause, hold, kill)
 *       goes to every process of the domain through {@link DomainProcesses}.
 * </ul>
 */
final class DomainProcess {
  static final int O_WRONLY_CREAT_APPEND = 0x1 | 0x40 | 0x400;

  private final POSIX posix;
  private final long pid;

  private DomainProcess(POSIX posix, long pid) {
    this.posix = posix;
    this.pid = pid;
  }

  /** @param runAs uid and gid to run as, or null for the supervisor's own */
  static DomainProcess spawn(List<String> command, List<String> environment, Path log, int[] runAs)
      throws IOException {
    POSIX posix = POSIXFactory.getNativePOSIX();
    List<SpawnFileAction> actions = new ArrayList<>();
    actions.add(SpawnFileAction.open("/dev/null", 0, 0, 0));
    actions.add(SpawnFileAction.open(log.toString(), 1, O_WRONLY_CREAT_APPEND, 0600));
    actions.add(SpawnFileAction.dup(1, 2));
    // no_new_privs: no setuid binary lifts a domain back to root, whatever the agent's container allows (a privileged
    // agent allows everything: SEC-4 rests on this then).
    List<String> argv = new ArrayList<>(List.of("setpriv", "--no-new-privs", "--pdeathsig", "KILL"));
    if (runAs != null) {
      // setpriv sets the ids, then the death signal (the kernel clears it on a credential change, so order matters:
      // setpriv applies --pdeathsig last, just before exec).
      argv.addAll(List.of("--reuid", Integer.toString(runAs[0]), "--regid", Integer.toString(runAs[1]),
          "--clear-groups"));
    }
    argv.add("--");
    argv.addAll(command);
    List<SpawnAttribute> attributes = List.of(SpawnAttribute.flags((short) SpawnAttribute.SETPGROUP),
        SpawnAttribute.pgroup(0));
    long pid = posix.posix_spawnp("setpriv", actions, attributes, argv, environment);
    if (pid <= 0) {
      throw new IOException("cannot start " + command.get(0) + ": errno " + posix.errno());
    }
    return new DomainProcess(posix, pid);
  }

  long pid() {
    return pid;
  }

  /** Signals the whole process group the domain leads. */
  void signal(Signal signal) {
    posix.kill(-pid, signal.intValue());
  }


  static int exitCode(int status) {
    return (status >> 8) & 0xff;
  }

  /** The signal that ended the process, or 0 if it exited. */
  static int terminatingSignal(int status) {
    int signal = status & 0x7f;
    return signal == 0x7f ? 0 : signal;
  }
}
