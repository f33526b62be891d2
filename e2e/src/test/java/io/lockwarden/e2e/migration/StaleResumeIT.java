package io.lockwarden.e2e.migration;

import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.chaos.LeaseHistory;
import io.lockwarden.e2e.chaos.SplitBrainChecker;
import io.lockwarden.e2e.chaos.TcpProxy;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hole (c) of issue #13: once a grant has moved to the target, the held source never runs again. The target runs and
 * writes, then is cut off from the API server before it can say so; the migration fails, and the domain fails over to
 * the source's node. A fresh process must start there, never the held one with its memory of the disks from before
 * the target wrote. The negative control (LOCKWARDEN_UNSAFE_DISABLE=stale-hold) resumes the held source, and the
 * split-brain checker must call it a STALE_RESUME.
 */
@ExtendWith(ControlPlaneExtension.class)
class StaleResumeIT {
  private static final Map<String, TcpProxy> proxies = new HashMap<>();
  private static LocalSystem system;
  private static LeaseHistory history;

  /**
   * One system (one operator): source a and target b for the rule, source ua (the rule off) and target ub for the
   * negative control; each target reaches the API server through a proxy the test can mute.
   */
  @BeforeAll
  static void start(ControlPlane controlPlane) throws Exception {
    system = LocalSystem.start(controlPlane, "stale", LocalSystem.FENCING_OPERATOR, LocalSystem.FENCING_AGENT, "a");
    system.startAgent("ua", Map.of("LOCKWARDEN_UNSAFE_DISABLE", "stale-hold"));
    URI api = URI.create(controlPlane.admin().getMasterUrl().toString());
    for (String target : List.of("b", "ub")) {
      TcpProxy proxy = new TcpProxy(api.getHost(), api.getPort());
      system.startAgent(target, system.kubeconfigThrough(target, proxy.port()), Map.of());
      proxies.put(target, proxy);
    }
    system.awaitNodesAlive(4);
    history = LeaseHistory.record(system.admin, system.base.resolve("lease-history.jsonl"));
  }

  @AfterAll
  static void stop() throws Exception {
    if (history != null) {
      history.close();
    }
    proxies.values().forEach(TcpProxy::close);
    if (system != null) {
      system.close();
    }
  }

  @Test
  void aHeldSourceNeverRunsAgainOnceTheTargetHasRun() throws Exception {
    Cut cut = targetRunsThenIsCutOff("a", "b");

    SupervisedDomain fresh = Await.value("the domain runs again on a, as a new process", LocalSystem.WAIT, () -> {
      SupervisedDomain d = system.domain(cut.vm);
      return d.getStatus() != null && d.getStatus().pid != null && d.getStatus().pid != cut.sourcePid
          && system.node("a").equals(d.getStatus().node) && Signals.alive(d.getStatus().pid)
          && "Running".equals(String.valueOf(d.getStatus().phase)) ? d : null;
    });
    assertThat(Signals.alive(cut.sourcePid)).as("the held source was ended, not resumed").isFalse();
    Await.until("the fresh process writes", LocalSystem.WAIT, () -> system.records(cut.file).stream()
        .anyMatch(r -> r.contains("\"pid\":" + fresh.getStatus().pid + ",")));
    SplitBrainChecker.Report report = check(cut.file);
    assertThat(report.violations()).as(report.summary()).isEmpty();
  }

  @Test
  void withoutTheRuleTheResumedSourceIsAStaleResume() throws Exception {
    Cut cut = targetRunsThenIsCutOff("ua", "ub");

    Await.until("the checker sees the held source write again after the target", LocalSystem.WAIT, () -> {
      try {
        return check(cut.file).violations().stream()
            .anyMatch(v -> v.kind() == SplitBrainChecker.Kind.STALE_RESUME);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private record Cut(String vm, String file, long sourcePid) {}

  /** A Warm migration; as soon as the target's process has written, the target can no longer talk to the API server. */
  private static Cut targetRunsThenIsCutOff(String source, String target) {
    LocalSystem s = system;
    String file = uniqueName("root") + ".img";
    String vm = uniqueName("vm");
    SupervisedDomain domain = s.workload(vm, source, s.exclusive(file));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = List.of(s.node(source), s.node(target));
    domain.getSpec().placement.failover = FailoverPolicy.Automatic;
    s.create(domain);
    long sourcePid = s.awaitRunning(vm, source).getStatus().pid;

    s.patch(vm, "{\"spec\":{\"migration\":{\"targetNode\":\"" + s.node(target) + "\",\"mode\":\"Warm\"}}}");
    Await.until("the target writes", LocalSystem.WAIT, () -> s.records(file).stream()
        .anyMatch(r -> r.contains("\"node\":\"" + s.node(target) + "\"")));
    proxies.get(target).mode(TcpProxy.Mode.MUTE_CLIENT);
    return new Cut(vm, file, sourcePid);
  }

  private static SplitBrainChecker.Report check(String file) throws Exception {
    return SplitBrainChecker.check(List.of(Path.of(system.disk(file))),
        LeaseHistory.load(system.base.resolve("lease-history.jsonl")));
  }
}
