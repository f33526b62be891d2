package io.lockwarden.e2e.agent;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.UnplugPolicy;
import io.lockwarden.e2e.chaos.LeaseHistory;
import io.lockwarden.e2e.chaos.SplitBrainChecker;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * When a lease may be let go of, with writers that do not cooperate (issue #13, holes a, b and h): a stubborn writer
 * that keeps an unplugged disk open and ignores SIGTERM, and a writer that left its process group. Each rule has a
 * negative control, an agent with that rule switched off (LOCKWARDEN_UNSAFE_DISABLE), on which the split-brain checker
 * must find two writers: that is what shows the checker would see a broken rule. One system (one operator: two would
 * fight over every lease), its negative controls on nodes of their own.
 */
@ExtendWith(ControlPlaneExtension.class)
class ReleaseRulesIT {
  private static final Pattern PID = Pattern.compile("\"pid\":(\\d+)");
  private static LocalSystem system;
  private static final List<LeaseHistory> histories = new ArrayList<>();

  @BeforeAll
  static void start(ControlPlane controlPlane) throws Exception {
    system = LocalSystem.start(controlPlane, "release", Map.of(), Map.of(), "a", "b");
    // Negative controls: node "u" without the open-file check, node "d" without the drain rule.
    system.startAgent("u", Map.of("LOCKWARDEN_UNSAFE_DISABLE", "unplug-check"));
    system.startAgent("d", Map.of("LOCKWARDEN_UNSAFE_DISABLE", "drain"));
    system.awaitNodesAlive(4);
  }

  @AfterAll
  static void stop() {
    for (LeaseHistory history : histories) {
      try {
        history.close();
      } catch (java.io.IOException e) {
        // the history file is only read by the tests that are over
      }
    }
    if (system != null) {
      system.close();
    }
  }

  /** Hole (a), and issue #13's "done when": the unplug waits for the stubborn writer to let go of the disk. */
  @Test
  void anUnpluggedDiskStillOpenKeepsItsLeaseAndASecondDomainNeverRunsOnIt() throws Exception {
    Path history = startHistory(system);
    String root = uniqueName("root") + ".img";
    String data = uniqueName("data") + ".img";
    String a = uniqueName("vm");
    String b = uniqueName("vm");
    system.create(system.stubborn(a, "a", system.exclusive(root), system.exclusive(data)));
    system.awaitRunning(a, "a");
    awaitRecordsBy(system, data, a);

    unplug(system, a, data);
    var pending = system.awaitCondition(a, DomainConditions.UNPLUG_PENDING, "True", "DiskOpen");
    assertThat(pending.getMessage()).contains(system.disk(data), "is still open");
    assertThat(system.holders(data)).extracting(h -> h.domain).containsExactly(system.key(a));

    system.create(system.workload(b, "b", system.exclusive(data)));
    system.awaitPhase(b, DomainPhase.Waiting);
    assertThat(system.holders(data)).extracting(h -> h.domain).as("still the first domain's")
        .containsExactly(system.key(a));
    assertThat(system.domain(b).getStatus().pid).isNull();

    // A program that never closes its disks lets go of them only when it ends.
    system.patch(a, "{\"spec\":{\"running\":false}}");
    system.awaitRunning(b, "b");
    awaitRecordsBy(system, data, b);
    assertClean(system, history, data, root);
  }

  /** The negative control of hole (a): without the open-file check, both write the disk, and the checker sees it. */
  @Test
  void withoutTheOpenFileCheckTheCheckerSeesTwoWritersAfterAnUnplug() throws Exception {
    Path history = startHistory(system);
    String root = uniqueName("root") + ".img";
    String data = uniqueName("data") + ".img";
    String a = uniqueName("vm");
    String b = uniqueName("vm");
    system.create(system.stubborn(a, "u", system.exclusive(root), system.exclusive(data)));
    system.awaitRunning(a, "u");
    awaitRecordsBy(system, data, a);

    unplug(system, a, data);
    // A stubborn writer too: an appending one's records would be overwritten whole by the first, leaving no trace.
    system.create(system.stubborn(b, "b", system.exclusive(data)));
    system.awaitRunning(b, "b");

    awaitViolations(system, history, data);
    system.delete(a);
    system.delete(b);
  }

  /** spec.unplugPolicy: Restart, for programs that never close a disk: the domain restarts without it. */
  @Test
  void withUnplugPolicyRestartTheDomainRestartsWithoutTheDisk() throws Exception {
    String root = uniqueName("root") + ".img";
    String data = uniqueName("data") + ".img";
    String a = uniqueName("vm");
    SupervisedDomain domain = system.stubborn(a, "a", system.exclusive(root), system.exclusive(data));
    domain.getSpec().unplugPolicy = UnplugPolicy.Restart;
    system.create(domain);
    long firstPid = system.awaitRunning(a, "a").getStatus().pid;
    awaitRecordsBy(system, data, a);

    unplug(system, a, data);

    Await.until("the lease of the unplugged disk is released", LocalSystem.WAIT, () -> system.holders(data).isEmpty());
    SupervisedDomain again = Await.value(a + " runs again as a new process", LocalSystem.WAIT, () -> {
      SupervisedDomain d = system.domain(a);
      return d.getStatus() != null && d.getStatus().phase == DomainPhase.Running && d.getStatus().pid != null
          && d.getStatus().pid != firstPid ? d : null;
    });
    assertThat(Signals.alive(firstPid)).isFalse();
    assertThat(again.getStatus().leaseSummary).isEqualTo("1/1");
  }

  /** Holes (b) and (h): a writer that left the process group is killed before the grant goes. */
  @Test
  void aWriterThatLeftItsProcessGroupIsKilledBeforeTheLeaseIsReleased() throws Exception {
    Path history = startHistory(system);
    String disk = uniqueName("escape") + ".img";
    String a = uniqueName("vm");
    String b = uniqueName("vm");
    system.create(escaping(system, a, "a", disk));
    system.awaitRunning(a, "a");
    long escaped = awaitRecordsBy(system, disk, a);

    system.patch(a, "{\"spec\":{\"running\":false}}");
    system.create(system.workload(b, "b", system.exclusive(disk)));
    boolean[] aliveAtRelease = {false};
    Await.until("the first domain's lease is released", LocalSystem.WAIT, () -> {
      boolean released = system.holders(disk).stream().noneMatch(h -> system.key(a).equals(h.domain));
      if (released && Signals.alive(escaped)) {
        aliveAtRelease[0] = true;
      }
      return released;
    });
    assertThat(aliveAtRelease[0]).as("the escaped writer was alive when the lease went").isFalse();
    system.awaitRunning(b, "b");
    awaitRecordsBy(system, disk, b);
    assertClean(system, history, disk);
  }

  /** The negative control of holes (b) and (h): without the drain rule, the escaped writer and the next holder meet. */
  @Test
  void withoutTheDrainRuleTheCheckerSeesTheEscapedWriterAndTheNextHolder() throws Exception {
    Path history = startHistory(system);
    String disk = uniqueName("escape") + ".img";
    String a = uniqueName("vm");
    String b = uniqueName("vm");
    system.create(escaping(system, a, "d", disk));
    system.awaitRunning(a, "d");
    long escaped = awaitRecordsBy(system, disk, a);

    system.patch(a, "{\"spec\":{\"running\":false}}");
    system.create(system.stubborn(b, "b", system.exclusive(disk))); // as above: one that leaves a trace
    system.awaitRunning(b, "b");

    awaitViolations(system, history, disk);
    Signals.send("KILL", escaped);
    system.delete(a);
    system.delete(b);
  }

  /** A shell that starts a stubborn writer in a session of its own (out of its process group), then sleeps. */
  private static SupervisedDomain escaping(LocalSystem s, String name, String shortNode, String disk) {
    SupervisedDomain domain = s.workload(name, shortNode, s.exclusive(disk));
    domain.getSpec().command = List.of("/bin/sh", "-c", "setsid " + LocalSystem.STUBBORN + " --interval 0.1 "
        + s.disk(disk) + " </dev/null & exec sleep 3600");
    return domain;
  }

  /**
   * Removes the disk from the spec as a user's edit would: read, change, write with the read's resourceVersion, and
   * read again on a conflict (the operator and the agent write the same object meanwhile; a CI run lost this race).
   */
  private static void unplug(LocalSystem s, String name, String file) {
    Await.until(file + " removed from " + name + "'s spec", LocalSystem.WAIT, () -> {
      SupervisedDomain d = s.domain(name);
      d.getSpec().disks = new ArrayList<>(d.getSpec().disks.stream().filter(x -> !s.disk(file).equals(x.path))
          .toList());
      d.getMetadata().setManagedFields(null);
      try {
        s.admin.resource(d).update();
        return true;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        return false;
      }
    });
  }

  /** Waits for a record of {@code domain} on the disk, and returns the pid that wrote it. */
  private static long awaitRecordsBy(LocalSystem s, String file, String domain) {
    return Await.value(domain + " writes " + file, LocalSystem.WAIT, () -> s.records(file).stream()
        .filter(r -> r.contains("\"domain\":\"" + s.key(domain) + "\"")).map(PID::matcher).filter(Matcher::find)
        .map(m -> Long.parseLong(m.group(1))).findFirst().orElse(null));
  }

  private static Path startHistory(LocalSystem s) throws Exception {
    Path file = s.base.resolve(uniqueName("history") + ".jsonl");
    histories.add(LeaseHistory.record(s.admin, file));
    return file;
  }

  private static SplitBrainChecker.Report check(LocalSystem s, Path history, String... files) throws Exception {
    List<Path> paths = java.util.Arrays.stream(files).map(f -> Path.of(s.disk(f))).toList();
    return SplitBrainChecker.check(paths, LeaseHistory.load(history));
  }

  private static void assertClean(LocalSystem s, Path history, String... files) throws Exception {
    SplitBrainChecker.Report report = check(s, history, files);
    assertThat(report.violations()).as(report.summary()).isEmpty();
    assertThat(report.recordsRead()).isPositive();
  }

  private static void awaitViolations(LocalSystem s, Path history, String... files) {
    Await.until("the checker sees two writers", LocalSystem.WAIT, () -> {
      try {
        return !check(s, history, files).clean();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }
}
