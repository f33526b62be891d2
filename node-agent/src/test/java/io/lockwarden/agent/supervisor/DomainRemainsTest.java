package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DomainRemainsTest {
  @TempDir
  Path dir;

  @Test
  void aDomainWhoseCgroupRootThisAgentCannotSeeCountsAsAlive() {
    Path root = dir.resolve("not-mounted-here");
    assertThat(new DomainRemains(root.resolve("uid-1"), null, null, true).alive())
        .as("its processes may be in a cgroup out of sight").isTrue();
  }

  @Test
  void aDomainWhoseCgroupIsGoneFromAVisibleRootIsJudgedByItsProcessGroup() throws Exception {
    Path root = Files.createDirectories(dir.resolve("root"));
    assertThat(new DomainRemains(root.resolve("uid-1"), null, null, true).alive())
        .as("removed once empty, and no process named").isFalse();
  }
}
