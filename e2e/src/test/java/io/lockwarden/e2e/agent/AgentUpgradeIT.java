package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.supervisor.DomainCgroup;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.ForeignLock;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue #17: an agent upgrade keeps VMs running. Each agent here runs in a cgroup of its own, as in a container, and
 * is "upgraded" the way a container runtime replaces a hostPID container: SIGTERM to the agent, then every process
 * still in the container's cgroup killed at once (cgroup.kill), then a new agent in a new cgroup. The supervisors live
 * in a cgroup the agent does not own ({@code <cgroupRoot>/supervisors}, SupervisorHome), so the domain, its
 * supervisor and its lock carry on through it, and the new agent adopts them. The negative control, an agent without
 * cgroups, keeps its supervisors in its own cgroup: it says so, and the same stop takes its domain's supervisor.
 */
@ExtendWith(ControlPlaneExtension.class)
class AgentUpgradeIT {
  private static LocalSystem system;
  private static Path containers;

  @BeforeAll
  static void start(ControlPlane controlPlane) throws IOException {
    Path mount = DomainCgroup.mountPoint().orElseThrow(() -> new IllegalStateException("no cgroup2 hierarchy"));
    containers = Files.createDirectories(mount.resolve("lockwarden-it").resolve(uniqueName("containers")));
    system = LocalSystem.start(controlPlane, "upgrade", Map.of(), Map.of());
  }

  @AfterAll
  static void stop() throws IOException {
    if (system != null) {
      system.close();
    }
    if (containers != null) {
      try (var dirs = Files.list(containers)) {
        for (Path dir : dirs.toList()) {
          new DomainCgroup(dir).kill();
          Await.until(dir + " is empty", LocalSystem.WAIT, () -> !new DomainCgroup(dir).populated());
          new DomainCgroup(dir).remove();
        }
      }
      new DomainCgroup(containers).remove();
    }
  }

  @Test
  void aDomainRunsOnThroughAnAgentContainerReplacedUnderIt() throws Exception {
    JavaProcess first = startInContainer("a", "a-1", Map.of());
    String name = uniqueName("vm");
    String disk = uniqueName("root") + ".img";
    system.create(system.stubborn(name, "a", system.exclusive(disk)));
    SupervisedDomain before = system.awaitRunning(name, "a");
    DiskLease leaseBefore = system.leaseFor(disk);
    Await.until("the agent says its supervisors live outside its cgroup", LocalSystem.WAIT,
        () -> first.get("/metrics").contains("lockwarden_supervisors_outside_agent_cgroup{node=\""
            + system.node("a") + "\"} 1.0"));

    replaceContainer("a-1", first);
    assertThat(Signals.alive(before.getStatus().supervisorPid)).as("the supervisor outlived the agent's container")
        .isTrue();
    assertThat(Signals.alive(before.getStatus().pid)).as("the domain outlived the agent's container").isTrue();
    assertThat(ForeignLock.canLock(system.disk(disk))).as("the disk stays locked with no agent").isFalse();

    startInContainer("a", "a-2", Map.of());
    Await.until("the new agent adopts the domain: the same process, supervised by the same supervisor, renewed",
        LocalSystem.WAIT, () -> {
          SupervisedDomain now = system.awaitRunning(name, "a");
          return now.getStatus().pid.equals(before.getStatus().pid)
              && now.getStatus().supervisorPid.equals(before.getStatus().supervisorPid)
              && system.agent("a").log().contains("event=supervisor-adopted");
        });
    DiskLease leaseAfter = system.leaseFor(disk);
    assertThat(leaseAfter.getStatus().epoch).as("the grant was never moved").isEqualTo(leaseBefore.getStatus().epoch);
    assertThat(leaseAfter.getStatus().holders).singleElement()
        .satisfies(h -> assertThat(h.domain).isEqualTo(system.key(name)));
    assertThat(ForeignLock.canLock(system.disk(disk))).as("the disk is still locked").isFalse();
  }

  @Test
  void anAgentWithoutCgroupsSaysItsSupervisorsDieWithItsContainer() throws Exception {
    JavaProcess agent = startInContainer("n", "n-1", Map.of("LOCKWARDEN_CGROUP_ROOT", "none"));
    String name = uniqueName("vm");
    system.create(system.workload(name, "n", system.exclusive(uniqueName("root") + ".img")));
    SupervisedDomain running = system.awaitRunning(name, "n");
    Await.until("the agent says its supervisors share its cgroup", LocalSystem.WAIT,
        () -> agent.get("/metrics").contains("lockwarden_supervisors_outside_agent_cgroup{node=\""
            + system.node("n") + "\"} 0.0"));
    assertThat(agent.log()).contains("event=supervisor-home-refused");

    replaceContainer("n-1", agent);
    assertThat(Signals.alive(running.getStatus().supervisorPid)).as("the supervisor died with the container").isFalse();
    system.delete(name);
  }

  /** The agent of {@code node} in a new cgroup named {@code container}, as a container runtime would start it. */
  private static JavaProcess startInContainer(String node, String container, Map<String, String> env)
      throws IOException {
    Path cgroup = Files.createDirectories(containers.resolve(container));
    return system.startAgent(node, system.kubeconfig(), env,
        List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec \"$@\"", "sh"));
  }

  /** What a runtime does to a hostPID container: SIGTERM to its first process, then SIGKILL to all left in it. */
  private static void replaceContainer(String container, JavaProcess agent) {
    Signals.send("TERM", agent.pid());
    Await.until("the agent exits on SIGTERM", LocalSystem.WAIT, () -> !agent.isAlive());
    DomainCgroup cgroup = new DomainCgroup(containers.resolve(container));
    cgroup.kill();
    Await.until("nothing is left in container " + container, LocalSystem.WAIT, () -> !cgroup.populated());
  }
}
