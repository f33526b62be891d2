package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The supervisor's one rule for letting go of a lock (LockSet): only once the domain can no longer write through it.
 * Each test has a domain that does not cooperate: it keeps a disk open, escapes its process group, or is offered a
 * grant it did not hold when it was stopped.
 */
class SupervisorReleaseIT extends SupervisorTestBase {

  /** Hole (a): an unplugged disk that the process still has open keeps its lock until the process closes it. */
  @Test
  void anUnpluggedDiskStaysLockedWhileTheDomainHasItOpen() throws Exception {
    Path root = disk("root.img");
    Path data = disk("data.img");
    validFor(Duration.ofMinutes(5));
    options.addAll(List.of("--lock", "WRITE,4,disk-data," + data));
    // Opens data.img as fd 3 and keeps it, until SIGUSR1 closes it: a VM that closes a disk only when told.
    supervisor("Pause", "30s", root, "/bin/sh", "-c",
        "exec 3<>'" + data + "'; trap 'exec 3>&-' USR1; while :; do sleep 0.05; done");
    long domain = awaitPhase("Running").pid;

    Files.writeString(dir.resolve("locks"), "WRITE,7,disk-test," + root + "\n");
    awaitTrue("the state says the unplug waits and why", () -> {
      List<String> pending = state().unplugPending;
      return pending != null && pending.size() == 1 && pending.get(0).contains(data.toString())
          && pending.get(0).contains("pid " + domain + " fd 3");
    });
    assertThat(busy(data)).as("the open disk keeps its lock").isTrue();
    assertThat(stateLocks()).contains("WRITE,4,disk-data," + data);

    Signals.kill(domain, 10); // SIGUSR1: the program closes the disk
    awaitTrue("the closed disk's lock goes", () -> !busy(data));
    awaitTrue("nothing waits any more", () -> state().unplugPending == null);
    assertThat(stateLocks()).containsExactly("WRITE,7,disk-test," + root);
  }

  /** Hole (e): the domain inherits no descriptor of a lock, so it has nothing to unlock with. */
  @Test
  void theDomainInheritsNoLockDescriptor() throws Exception {
    Path disk = disk("nofd.img");
    validFor(Duration.ofMinutes(5));
    supervisor("Pause", "30s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;

    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(domain), "fd"))) {
      assertThat(fds.map(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString();
        } catch (java.io.IOException e) {
          return "";
        }
      }).toList()).doesNotContain(disk.toString());
    }
  }

  /** Holes (b) and (h): a child that left the process group is killed, and only then do the locks go. */
  @Test
  void aChildThatLeftItsProcessGroupIsKilledBeforeTheLocksGo() throws Exception {
    useCgroup();
    Path disk = disk("escape.img");
    Path pidFile = dir.resolve("escaped.pid");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "30s", disk, "/bin/sh", "-c",
        "setsid /bin/sh -c 'echo $$ > " + pidFile + "; exec sleep 1000' & exec sleep 1000");
    awaitPhase("Running");
    awaitTrue("the escaped child wrote its pid", () -> read("escaped.pid").matches("\\d+"));
    long escaped = Long.parseLong(read("escaped.pid"));
    assertThat(ProcStat.state(escaped)).isNotNull();

    supervisor.destroy(); // SIGTERM: the seed's Shutdown; the main process ends, the escaped child would not

    boolean[] aliveWhenFree = {false};
    awaitTrue("the lock goes", () -> {
      boolean free = !busy(disk);
      if (free && ProcStat.startTime(escaped) != null && !"Z".equals(ProcStat.state(escaped))) {
        aliveWhenFree[0] = true;
      }
      return free;
    });
    assertThat(aliveWhenFree[0]).as("the escaped child was still alive when the lock went").isFalse();
    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(ProcStat.startTime(escaped)).as("the escaped child is gone").isNull();
    assertThat(read("supervisor.log")).contains("reason=ended drained=fdatasync");
  }

  /** Hole (b): a hand-off stops every process, an escaped one too, before the Exclusive lock goes. */
  @Test
  void aHandOffStopsEveryProcessBeforeTheExclusiveLockGoes() throws Exception {
    useCgroup();
    Path disk = disk("hold.img");
    Path pidFile = dir.resolve("escaped.pid");
    validFor(Duration.ofMinutes(5));
    supervisor("Pause", "30s", disk, "/bin/sh", "-c",
        "setsid /bin/sh -c 'echo $$ > " + pidFile + "; exec sleep 1000' & exec sleep 1000");
    awaitPhase("Running");
    awaitTrue("the escaped child wrote its pid", () -> read("escaped.pid").matches("\\d+"));
    long escaped = Long.parseLong(read("escaped.pid"));

    Files.writeString(dir.resolve("hold"), "");
    awaitPhase("Held");

    assertThat(busy(disk)).as("the Exclusive lock is let go of").isFalse();
    assertThat(new DomainCgroup(cgroup).frozen()).as("every process of the domain is frozen").isTrue();
    assertThat(new DomainCgroup(cgroup).pids()).contains(escaped);
    assertThat(read("supervisor.log")).contains("reason=hand-off drained=fdatasync");
  }

  /** Hole (c): a held source offered grants it did not hold when it was held never runs again. */
  @Test
  void aHeldSourceWhoseGrantsMovedNeverRunsAgain() throws Exception {
    Path disk = disk("stale.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "30s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;
    Files.writeString(dir.resolve("hold"), "");
    awaitPhase("Held");
    awaitTrue("the held process is stopped", () -> "T".equals(ProcStat.state(domain)));

    // The grant went to the target at epoch 8 and came back at epoch 9: the target may have written in between.
    Files.writeString(dir.resolve("locks"), "WRITE,9,disk-test," + disk + "\n");
    Files.delete(dir.resolve("hold"));

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    SupervisorState state = state();
    assertThat(state.staleHold).isTrue();
    assertThat(state.exitSignal).isEqualTo(9);
    assertThat(read("supervisor.log")).doesNotContain("event=continued");
  }

  /** The same hold given back the very grants it held (a roll-back before any grant moved) runs on. */
  @Test
  void aHeldSourceGivenBackItsOwnGrantsRunsOn() throws Exception {
    Path disk = disk("same.img");
    validFor(Duration.ofMinutes(5));
    supervisor("Pause", "30s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;
    Files.writeString(dir.resolve("hold"), "");
    awaitPhase("Held");

    Files.delete(dir.resolve("hold"));

    awaitPhase("Running");
    awaitTrue("the process runs again", () -> !"T".equals(ProcStat.state(domain)));
    assertThat(busy(disk)).isTrue();
  }
}
