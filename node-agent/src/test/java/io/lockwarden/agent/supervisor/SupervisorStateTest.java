package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SupervisorStateTest {
  @TempDir
  Path dir;

  @Test
  void theHandWrittenJsonReadsBackExactlyWhateverTheText() throws Exception {
    SupervisorState state = new SupervisorState();
    state.phase = "LocalLockBusy";
    state.supervisorPid = 42;
    state.args = List.of("--", "sh", "-c", "echo \"a\\b\" \t done\n");
    state.busyPath = "/srv/odd \"name\".img";
    state.busyHolderPid = 7L;
    state.message = "line one\nline two \u0001";

    state.write(dir);
    SupervisorState read = SupervisorState.read(dir);

    assertThat(read.phase).isEqualTo("LocalLockBusy");
    assertThat(read.supervisorPid).isEqualTo(42);
    assertThat(read.args).isEqualTo(state.args);
    assertThat(read.busyPath).isEqualTo(state.busyPath);
    assertThat(read.busyHolderPid).isEqualTo(7L);
    assertThat(read.message).isEqualTo(state.message);
    assertThat(read.pid).isNull();
    assertThat(read.exitCode).isNull();
  }
}
