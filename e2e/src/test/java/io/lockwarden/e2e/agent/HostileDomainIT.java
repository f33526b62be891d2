package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A domain that works against its own fence (issue #13, hole e), and a pid the kernel gave to someone else since a
 * supervisor died (hole i). Agents run with their defaults: domains as nobody.
 */
@ExtendWith(ControlPlaneExtension.class)
class HostileDomainIT {
  private static LocalSystem system;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "hostile", LocalSystem.FENCING_OPERATOR, LocalSystem.FENCING_AGENT, "a");
  }

  @AfterAll
  static void stop() {
    system.close();
  }

  /**
   * Hole (e): it rewrites its deadline, reads the agent's credentials, all the time; its node's agent hangs. It is
   * paused all the same, and it read nothing.
   */
  @Test
  void aDomainCannotDisarmItsOwnFence() throws Exception {
    String file = uniqueName("hostile") + ".img";
    String vm = uniqueName("vm");
    Path stolen = system.disks.resolve(uniqueName("stolen") + ".txt");
    SupervisedDomain domain = system.workload(vm, "a", system.exclusive(file));
    domain.getSpec().command = List.of("/bin/sh", "-c", "run=$(dirname \"$(dirname \"$LOCKWARDEN_FENCING_TOKENS_FILE\")\")"
        + "; while :; do echo 9223372036854775807 > \"$run/deadline\"; rm -f \"$run/hold\" \"$run/kill\""
        + "; cat '" + system.base.resolve("kubeconfig") + "' > '" + stolen + "'; sleep 0.1; done");
    system.create(domain);
    SupervisedDomain running = system.awaitRunning(vm, "a");
    String uid = running.getMetadata().getUid();
    assertThat(Files.readString(Path.of("/proc", Long.toString(running.getStatus().pid), "status")))
        .as("it runs as nobody").containsPattern("Uid:\\s+65534");

    system.agent("a").freeze();
    try {
      SupervisorState paused = Await.value(vm + " is paused although it rewrites its deadline", LocalSystem.WAIT,
          () -> {
            SupervisorState s = system.supervisorState("a", uid);
            return s != null && "Paused".equals(s.phase) ? s : null;
          });
      assertThat(Signals.stopped(paused.pid)).isTrue();
      // Paused for good: it never runs again before its pauseTimeout (10 s) ends it, the agent hanging throughout.
      SupervisorState after = Await.value("it runs again, or its pause timeout ends it", LocalSystem.WAIT, () -> {
        SupervisorState s = system.supervisorState("a", uid);
        return s != null && (s.resumes > 0 || "Stopping".equals(s.phase) || "Exited".equals(s.phase)) ? s : null;
      });
      assertThat(after.resumes).as("it resumed on a deadline it wrote itself").isZero();
    } finally {
      system.agent("a").thaw();
    }
    assertThat(Files.exists(stolen) ? Files.size(stolen) : 0).as("the agent's credentials were read").isZero();
    system.delete(vm);
  }

  /**
   * Hole (i): a supervisor died while its agent was away, and its domain's pid now belongs to an unrelated process.
   * The agent that finds the run directory signals nothing that is not the domain's.
   */
  @Test
  void aRestartedAgentNeverSignalsAPidThatIsNoLongerTheDomains() throws Exception {
    Process victim = new ProcessBuilder("setsid", "sleep", "1000").start(); // leads a process group of its own
    try {
      Path dir = system.runDir("a").resolve("domains").resolve(UUID.randomUUID().toString());
      Files.createDirectories(dir);
      // What a dead supervisor left: its domain was pid N, started at some tick; pid N is the victim's now.
      Files.writeString(dir.resolve("state.json"), "{\"phase\":\"Running\",\"supervisorPid\":" + Integer.MAX_VALUE
          + ",\"supervisorStartTime\":\"1\",\"pid\":" + victim.pid() + ",\"pidStartTime\":\"1\",\"args\":[\"--domain\","
          + "\"" + system.apps + "/gone\",\"--run-dir\",\"" + dir + "\",\"--\",\"sleep\",\"1\"]}");

      system.agent("a").kill();
      system.startAgent("a");

      Await.until("the agent forgets the run directory of a domain that is gone", LocalSystem.WAIT,
          () -> !Files.exists(dir));
      assertThat(victim.isAlive()).as("the unrelated process that has the pid now").isTrue();
    } finally {
      victim.destroyForcibly();
    }
  }
}
