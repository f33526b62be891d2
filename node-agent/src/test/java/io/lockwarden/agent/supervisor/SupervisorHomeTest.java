package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SupervisorHomeTest {
  @Test
  void aCgroupBesideTheAgentsIsOutsideIt() {
    assertThat(SupervisorHome.outside("/lockwarden/node-a/supervisors", "/kubepods/pod1/agent")).isTrue();
    assertThat(SupervisorHome.outside("/kubepods/pod1/agent-old", "/kubepods/pod1/agent")).as("a prefix, not a parent")
        .isTrue();
  }

  @Test
  void theAgentsOwnCgroupAndAnyBelowItAreInside() {
    assertThat(SupervisorHome.outside("/kubepods/pod1/agent", "/kubepods/pod1/agent")).isFalse();
    assertThat(SupervisorHome.outside("/kubepods/pod1/agent/lockwarden/supervisors", "/kubepods/pod1/agent")).isFalse();
    assertThat(SupervisorHome.outside("/lockwarden/node-a/supervisors", "/")).as("an agent in the root cgroup")
        .isFalse();
  }

  @Test
  void inACgroupNamespaceWhatIsAboveItsRootIsOutside() {
    assertThat(SupervisorHome.outside("/../../lockwarden/node-a/supervisors", "/")).isTrue();
    assertThat(SupervisorHome.outside("/..", "/")).isTrue();
    assertThat(SupervisorHome.outside("/..foo", "/")).as("a name, not a step up").isFalse();
  }
}
