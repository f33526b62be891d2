package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Supervisors started ahead (SparePool) as real processes: how the agent starts every supervisor. */
class SparePoolIT extends SupervisorTestBase {
  private SparePool pool;
  private Supervision supervision;

  @AfterEach
  void stopEverything() {
    if (pool != null) {
      pool.close();
    }
    if (supervision != null) {
      ProcessHandle.of(supervision.pid()).ifPresent(p -> {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
      });
    }
  }

  @Test
  void aSpareStartedAheadRunsItsDomainWithTheDomainsEnvironmentAndNoneOfItInItsOwn() throws Exception {
    pool = new SparePool(1, dir.resolve("supervisor.log"), SupervisorHome.none("test", outside -> { }));
    pool.fill();
    long spare = awaitSpare();
    Path disk = disk("disk.img");
    validFor(Duration.ofSeconds(60));
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", SparePool.PATH_ENV);
    env.put("JAVA_TOOL_OPTIONS", "-Dlockwarden.injected=yes");
    env.put("GREETING", "hello world");
    supervision = Supervision.launch(args(disk, "echo \"$GREETING|$JAVA_TOOL_OPTIONS\" > " + dir.resolve("said")
        + "; exec sleep 60"), env, pool);

    assertThat(supervision.pid()).as("the spare started ahead took the domain").isEqualTo(spare);
    awaitPhase("Running");
    awaitTrue("the domain wrote what it was given", () -> read("said").equals("hello world|-Dlockwarden.injected=yes"));
    // The supervisor's JVM runs as root: a domain's environment must never configure it.
    assertThat(environ(supervision.pid())).containsExactly("PATH=" + SparePool.PATH_ENV);
    assertThat(busyForWriters(disk)).as("the supervisor holds the disk's lock").isTrue();
    awaitTrue("a new spare replaces the one taken", () -> spares().stream().anyMatch(pid -> pid != spare));
  }

  @Test
  void withNoSpareReadyASupervisorIsStartedOnTheSpotTheSameWay() throws Exception {
    pool = new SparePool(0, dir.resolve("supervisor.log"), SupervisorHome.none("test", outside -> { }));
    Path disk = disk("disk.img");
    validFor(Duration.ofSeconds(60));
    supervision = Supervision.launch(args(disk, "exec sleep 60"), Map.of("PATH", SparePool.PATH_ENV), pool);
    awaitPhase("Running");
    assertThat(environ(supervision.pid())).containsExactly("PATH=" + SparePool.PATH_ENV);
    assertThat(spares()).as("size 0 keeps none waiting: the one there is the supervisor").containsExactly(supervision.pid());
  }

  @Test
  void anUnassignedSpareExitsOnceItsAgentLetsGo() throws Exception {
    pool = new SparePool(2, dir.resolve("supervisor.log"), SupervisorHome.none("test", outside -> { }));
    pool.fill();
    awaitTrue("two spares", () -> spares().size() == 2);
    List<Long> waiting = spares();
    pool.close(); // as when the agent exits or dies: the kernel closes the pipes' other ends
    awaitTrue("every spare exited", () -> waiting.stream().noneMatch(pid -> ProcessHandle.of(pid).isPresent()));
  }

  @Test
  void aBadAssignmentIsAProtocolErrorAndTheSpareExitsHoldingNothing() throws Exception {
    pool = new SparePool(0, dir.resolve("supervisor.log"), SupervisorHome.none("test", outside -> { }));
    SparePool.Spare spare = pool.take();
    try (OutputStream in = spare.process.getOutputStream()) {
      in.write("rm -rf /\0".getBytes(StandardCharsets.UTF_8));
    }
    assertThat(spare.process.waitFor()).isEqualTo(2);
    awaitTrue("the spare said why", () -> {
      try {
        return Files.readString(dir.resolve("supervisor.log")).contains("bad assignment: not an assignment");
      } catch (IOException e) {
        return false;
      }
    });
  }

  private SupervisorArgs args(Path disk, String script) {
    return SupervisorArgs.parse(new String[] {"--domain", "ns/vm", "--run-dir", dir.toString(), "--stop-grace", "5s",
        "--lock", "WRITE,7,disk-test," + disk, "--", "sh", "-c", script});
  }

  /** This JVM's children started as spares, but for the one making the class-data archive (it exits at once). */
  private static List<Long> spares() {
    return ProcessHandle.current().children().filter(p -> p.isAlive() && argv(p.pid()).endsWith("\0--spare\0")
        && !argv(p.pid()).contains("-XX:ArchiveClassesAtExit")).map(ProcessHandle::pid).toList();
  }

  /** The whole command line (ProcessHandle.Info cuts a long one short). */
  private static String argv(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * The one spare, once the pool has it ready and nothing else looks like one: the class-data archive's probe, made on
   * a fresh run directory just before the first spare, also runs as {@code --spare} for a moment (a fresh clone's CI
   * run took the probe for the spare).
   */
  private long awaitSpare() {
    awaitTrue("a spare", () -> pool.ready() == 1 && spares().size() == 1);
    return spares().get(0);
  }

  private static List<String> environ(long pid) throws IOException {
    String text = Files.readString(Path.of("/proc/" + pid + "/environ"), StandardCharsets.UTF_8);
    return Optional.of(text).filter(t -> !t.isEmpty()).map(t -> List.of(t.split("\0"))).orElse(List.of());
  }
}
