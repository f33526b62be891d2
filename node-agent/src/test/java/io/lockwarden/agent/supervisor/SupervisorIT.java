package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.OfdLocks;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor as a real process over a real domain process, with real OFD locks. No API server involved. */
class SupervisorIT extends SupervisorTestBase {
  @Test
  void startsTheDomainOnlyWithItsLocksHeldAndPassesTheFencingTokens() throws Exception {
    Path disk = disk("vm.img");
    validFor(Duration.ofMinutes(5));

    Process supervisor = supervisor("Pause", "30s", disk, "sh", "-c",
        "echo \"$LOCKWARDEN_FENCING_TOKENS\" > tokens; exec sleep 1000");
    SupervisorState running = awaitPhase("Running");

    assertThat(running.pid).isNotNull();
    assertThat(ProcStat.state(running.pid)).isIn("S", "R");
    assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();
    awaitTrue("the domain wrote its tokens", () -> Files.exists(dir.resolve("tokens")));
    awaitTrue("the tokens are path=epoch", () -> read("tokens").equals(disk + "=7"));
    assertThat(read("domain/fencing-tokens")).isEqualTo(disk + "=7");
    assertThat(running.args).endsWith("--", "sh", "-c", "echo \"$LOCKWARDEN_FENCING_TOKENS\" > tokens; exec sleep 1000");
    assertThat(supervisor.isAlive()).isTrue();
  }

  @Test
  void sigkillOfTheSupervisorKillsTheDomainAndFreesTheLock() throws Exception {
    Path disk = disk("kill.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "30s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;

    supervisor.destroyForcibly(); // SIGKILL: no shutdown hook runs

    awaitTrue("the domain process is gone", () -> ProcStat.state(domain) == null);
    awaitTrue("the lock is free", () -> !busy(disk));
  }

  @Test
  void aDomainThatExitsReleasesItsLocksAndItsExitIsRecorded() throws Exception {
    Path disk = disk("exit.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "30s", disk, "sh", "-c", "exit 7");

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(supervisor.exitValue()).isEqualTo(7);
    SupervisorState state = SupervisorState.read(dir);
    assertThat(state.phase).isEqualTo("Exited");
    assertThat(state.exitCode).isEqualTo(7);
    assertThat(busy(disk)).isFalse();
  }

  @Test
  void pausesWhenTheDeadlinePassesAndResumesWhenItIsRenewed() throws Exception {
    Path disk = disk("pause.img");
    validFor(Duration.ofMinutes(5));
    supervisor("Pause", "60s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;

    expire();
    awaitPhase("Paused");
    awaitTrue("the domain is stopped (T)", () -> "T".equals(ProcStat.state(domain)));
    assertThat(busy(disk)).as("a paused domain keeps its lock").isTrue();

    validFor(Duration.ofMinutes(5));
    awaitPhase("Running");
    awaitTrue("the domain runs again", () -> !"T".equals(ProcStat.state(domain)));
  }

  @Test
  void aPausedDomainIsKilledAfterThePauseTimeoutAndItsLockFreed() throws Exception {
    Path disk = disk("timeout.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "1s", disk, "sleep", "1000");
    awaitPhase("Running");

    expire();

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    SupervisorState state = SupervisorState.read(dir);
    assertThat(state.exitSignal).isEqualTo(9);
    assertThat(busy(disk)).isFalse();
  }

  @Test
  void withKillTheDomainIsKilledAsSoonAsTheDeadlinePasses() throws Exception {
    Path disk = disk("killmode.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Kill", "60s", disk, "sleep", "1000");
    awaitPhase("Running");

    expire();

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(SupervisorState.read(dir).exitSignal).isEqualTo(9);
    assertThat(busy(disk)).isFalse();
  }

  @Test
  void sigtermStopsTheDomainGracefully() throws Exception {
    Path disk = disk("term.img");
    validFor(Duration.ofMinutes(5));
    Process supervisor = supervisor("Pause", "30s", disk, "sleep", "1000");
    awaitPhase("Running");

    supervisor.destroy(); // SIGTERM: the seed's Shutdown

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(SupervisorState.read(dir).exitSignal).isEqualTo(15);
    assertThat(busy(disk)).isFalse();
  }

  @Test
  void aForeignLockOnByteZeroMeansNoStartAndNamesTheHolder() throws Exception {
    Path disk = disk("foreign.img");
    validFor(Duration.ofMinutes(5));
    String java = ProcessHandle.current().info().command().orElse("java");
    Process foreign = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        "io.lockwarden.agent.lockspace.ForeignPosixLocker", "hold", disk.toString(), "0").start();
    started.add(foreign);
    BufferedReader out = new BufferedReader(new InputStreamReader(foreign.getInputStream(), StandardCharsets.UTF_8));
    assertThat(out.readLine()).isEqualTo("locked");

    Process supervisor = supervisor("Pause", "30s", disk, "sleep", "1000");

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(supervisor.exitValue()).isEqualTo(SupervisorMain.LOCK_BUSY);
    SupervisorState state = SupervisorState.read(dir);
    assertThat(state.phase).isEqualTo("LocalLockBusy");
    assertThat(state.busyHolderPid).isEqualTo(foreign.pid());
    assertThat(state.pid).as("the domain never started").isNull();
  }

  @Test
  void withoutAProvenRightNothingStarts() throws Exception {
    Path disk = disk("unproven.img");
    Process supervisor = supervisor("Pause", "30s", disk, "sleep", "1000");

    assertThat(supervisor.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(supervisor.exitValue()).isEqualTo(SupervisorMain.NOT_PROVEN);
    assertThat(SupervisorState.read(dir).pid).isNull();
    assertThat(busy(disk)).isFalse();
  }

  @Test
  void hotPlugTakesANewLockWhileTheDomainRunsAndUnplugFreesOneNotInUse() throws Exception {
    Path root = disk("root.img");
    Path extra = disk("extra.img");
    validFor(Duration.ofMinutes(5));
    supervisor("Pause", "30s", root, "sleep", "1000");
    long domain = awaitPhase("Running").pid;

    Files.writeString(dir.resolve("locks"), "WRITE,7,disk-test," + root + "\nREAD,3,disk-extra," + extra + "\n");
    awaitTrue("the plugged disk is locked", () -> busyForWriters(extra));
    awaitTrue("its token is published", () -> read("domain/fencing-tokens").contains(extra + "=3"));
    awaitTrue("the state names both locks", () -> List.of("WRITE,7,disk-test," + root, "READ,3,disk-extra," + extra)
        .equals(stateLocks()));

    // The domain never opened the root disk: unplugging frees it at once.
    Files.writeString(dir.resolve("locks"), "READ,3,disk-extra," + extra + "\n");
    awaitTrue("the unplugged disk is free", () -> !busy(root));
    awaitTrue("its token is withdrawn", () -> read("domain/fencing-tokens").equals(extra + "=3"));
    assertThat(ProcStat.state(domain)).as("the domain runs on").isIn("S", "R");
  }

  @Test
  void theDomainRunsAsTheConfiguredUser() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "switching users needs root");
    Path disk = disk("user.img");
    validFor(Duration.ofMinutes(5));
    options.addAll(List.of("--run-as-uid", "65534", "--run-as-gid", "65534"));
    supervisor("Pause", "30s", disk, "sleep", "1000");
    long domain = awaitPhase("Running").pid;
    // Running is reported once the child exists; setpriv switches users, then execs the program (seen as a flake
    // when /proc was read in between, still root).
    String status = io.lockwarden.testing.Await.value("the domain's program has replaced setpriv",
        Duration.ofSeconds(10), () -> {
          try {
            String s = Files.readString(Path.of("/proc", Long.toString(domain), "status"));
            return s.startsWith("Name:\tsetpriv") ? null : s;
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
    assertThat(status).containsPattern("Uid:\\s+65534\\s+65534").containsPattern("Gid:\\s+65534\\s+65534");
    assertThat(status).as("no setuid binary lifts it back to root, whatever its container allows (SEC-4)")
        .containsPattern("NoNewPrivs:\\s+1");
  }

}
