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

/** A supervisor as a real process in a temporary run directory: how its tests start it, feed it and watch it. */
abstract class SupervisorTestBase {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir
  protected Path dir;
  protected final List<Process> started = new ArrayList<>();
  /** More supervisor options for the next start. */
  protected final List<String> options = new ArrayList<>();

  /** The domain's cgroup for the next start, when a test asked for one. */
  protected Path cgroup;

  @AfterEach
  void killLeftovers() {
    started.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    started.forEach(Process::destroyForcibly);
    if (cgroup != null) {
      DomainCgroup group = new DomainCgroup(cgroup);
      group.kill();
      awaitTrue("the test's cgroup is empty", () -> !group.populated());
      group.remove();
    }
  }

  /** The next supervisor tracks its domain in a cgroup of its own; skipped where the host has no cgroup2. */
  protected void useCgroup() {
    Path mount = DomainCgroup.mountPoint().orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(mount != null && Files.isWritable(mount),
        "this host has no writable cgroup2 hierarchy");
    cgroup = mount.resolve("lockwarden-test").resolve(dir.getFileName().toString());
    options.addAll(List.of("--cgroup", cgroup.toString()));
  }

  protected List<String> stateLocks() {
    try {
      return SupervisorState.read(dir).locks;
    } catch (IOException e) {
      return null;
    }
  }

  protected static boolean busyForWriters(Path disk) {
    try {
      return OfdLocks.isBusy(disk, LockMode.WRITE);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  protected Process supervisor(String onLoss, String pauseTimeout, Path disk, String... command) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> argv = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        SupervisorMain.class.getName(), "--domain", "ns/vm", "--run-dir", dir.toString(), "--on-lease-loss", onLoss,
        "--pause-timeout", pauseTimeout, "--stop-grace", "5s", "--lock", "WRITE,7,disk-test," + disk));
    argv.addAll(options);
    argv.add("--");
    argv.addAll(List.of(command));
    Process process = new ProcessBuilder(argv).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(dir.resolve("supervisor.log").toFile()).start();
    started.add(process);
    return process;
  }

  protected Path disk(String name) throws IOException {
    return Files.createFile(dir.resolve(name));
  }

  protected void validFor(Duration duration) throws IOException {
    new io.lockwarden.agent.rundir.RunDir(dir).writeDeadline(System.nanoTime() + duration.toNanos());
  }

  /** The agent could not prove the grant in time: the deadline is now in the past. */
  protected void expire() throws IOException {
    new io.lockwarden.agent.rundir.RunDir(dir).writeDeadline(System.nanoTime() - 1);
  }

  /** The supervisor's last state, or an empty one before it wrote any. */
  protected SupervisorState state() {
    try {
      return SupervisorState.read(dir);
    } catch (IOException e) {
      return new SupervisorState();
    }
  }

  protected SupervisorState awaitPhase(String phase) {
    SupervisorState[] last = new SupervisorState[1];
    awaitTrue("phase " + phase, () -> {
      try {
        last[0] = SupervisorState.read(dir);
        return phase.equals(last[0].phase);
      } catch (IOException e) {
        return false;
      }
    });
    return last[0];
  }

  protected String read(String file) {
    try {
      return Files.readString(dir.resolve(file)).trim();
    } catch (IOException e) {
      return "";
    }
  }

  protected static boolean busy(Path disk) {
    try {
      return OfdLocks.isBusy(disk, LockMode.READ);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  protected void awaitTrue(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what + "; supervisor log:\n" + read("supervisor.log"));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
