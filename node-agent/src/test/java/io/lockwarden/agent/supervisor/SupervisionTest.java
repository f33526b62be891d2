package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Re-adoption after an agent restart (the seed's NEW_ATTACH) and its guard against recycled pids. */
class SupervisionTest {
  @TempDir
  Path runDir;

  @Test
  void adoptsALiveSupervisorWhosePidAndStartTimeMatch() throws Exception {
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    try {
      writeState(sleeper.pid(), ProcStat.startTime(sleeper.pid()));
      Supervision adopted = Supervision.adopt(new io.lockwarden.agent.rundir.RunDir(runDir)).orElseThrow();
      assertThat(adopted.pid()).isEqualTo(sleeper.pid());
      assertThat(adopted.alive()).isTrue();
      assertThat(adopted.args().domain()).isEqualTo("ns/vm");
    } finally {
      sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aRecycledPidIsNeverMistakenForTheSupervisor() throws Exception {
    // This JVM is alive under the recorded pid, but started at another time than the recorded supervisor.
    long pid = ProcessHandle.current().pid();
    String otherStart = Long.toString(Long.parseLong(ProcStat.startTime(pid)) + 1);
    writeState(pid, otherStart);
    assertThat(Supervision.adopt(new io.lockwarden.agent.rundir.RunDir(runDir))).isEmpty();
  }

  @Test
  void aDeadSupervisorIsNotAdopted() throws Exception {
    Process sleeper = new ProcessBuilder("sleep", "60").start();
    String start = ProcStat.startTime(sleeper.pid());
    sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    writeState(sleeper.pid(), start);
    assertThat(Supervision.adopt(new io.lockwarden.agent.rundir.RunDir(runDir))).isEmpty();
  }

  private void writeState(long pid, String startTime) throws Exception {
    SupervisorState state = new SupervisorState();
    state.phase = "Running";
    state.supervisorPid = pid;
    state.supervisorStartTime = startTime;
    state.args = List.of("--domain", "ns/vm", "--run-dir", runDir.toString(), "--", "/bin/sleep", "60");
    state.write(runDir);
    assertThat(Files.exists(runDir.resolve(SupervisorState.FILE))).isTrue();
  }
}
