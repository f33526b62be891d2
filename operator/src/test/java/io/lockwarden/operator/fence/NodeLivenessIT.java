package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.Members;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.api.v1alpha1.Quorum;
import io.lockwarden.api.v1alpha1.QuorumConditions;
import io.lockwarden.operator.observe.EventRecorder;
import io.lockwarden.operator.observe.OperatorMetrics;
import io.lockwarden.operator.observe.QuorumReport;
import io.lockwarden.testing.AgentRenewals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * NodeLiveness against the real API server: what the operator's clock says is checked before anything is revoked, and
 * nobody is declared dead unless a majority of nodes acknowledges the operator's rounds (docs/safety.md, TIME-4).
 */
@ExtendWith(ControlPlaneExtension.class)
class NodeLivenessIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private final List<AutoCloseable> started = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (int i = started.size() - 1; i >= 0; i--) {
      started.get(i).close();
    }
  }

  @Test
  void aRenewalTheWatchHadNotDeliveredRefutesADeathAndOtherwiseTheNodeIsFenced(ControlPlane controlPlane) {
    KubernetesClient admin = controlPlane.admin();
    String namespace = TestObjects.createNamespace(admin, "liveness");
    String node = TestObjects.uniqueName("node");
    new TimingPublisher(admin, namespace, Duration.ofSeconds(10), Duration.ofSeconds(2), "test").publish();
    // Two more members: the node being fenced never counts for itself (QUO-1), so two others must acknowledge.
    List<String> others = List.of(node + "-x", node + "-y");
    renewWithoutRound(admin, namespace, node);
    others.forEach(other -> renewWithoutRound(admin, namespace, other));
    // A long window: the steps below must not outlast the acknowledgement they rely on.
    QuorumGate quorum = new QuorumGate(Duration.ofSeconds(60));
    NodeLiveness liveness = new NodeLiveness(admin, namespace, Duration.ofSeconds(10), Duration.ofSeconds(2), quorum);
    QuorumRounds rounds = new QuorumRounds(admin, namespace, liveness, quorum);
    liveness.start();
    started.add(liveness);
    Await.until("the watch is up", Duration.ofSeconds(30), liveness::isWatching);
    Await.until("every Lease in the cache", Duration.ofSeconds(30),
        () -> liveness.observedMembers().map(m -> m.size() == 3).orElse(false));
    assertThat(rounds.writeRound()).as("a round, and the first member set").isPositive();
    AgentRenewals.renew(admin, namespace, node);
    others.forEach(other -> AgentRenewals.renew(admin, namespace, other));
    Await.until(node + " seen renewing", Duration.ofSeconds(30), () -> liveness.isAlive(node));
    Await.until(node + " acknowledges, a majority of " + quorum.members(), Duration.ofSeconds(30),
        liveness::fencingAllowed);

    // The operator stops seeing renewals (a paused operator, a late watch) while the node goes on renewing.
    liveness.close();
    AgentRenewals.renew(admin, namespace, node);

    assertThat(liveness.confirmDead(node)).as("a renewal it had not seen: alive").isFalse();
    assertThat(annotations(admin, namespace, node)).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);

    // No renewal since the last one it now knows of: the node is fenced, with a mark on its Lease.
    assertThat(liveness.confirmDead(node)).isTrue();
    assertThat(annotations(admin, namespace, node)).containsKey(NodeLeases.FENCED_ANNOTATION);
  }

  @Test
  void withAMajorityAcknowledgingANodeThatStopsRenewingIsFenced(ControlPlane controlPlane) {
    Setup s = new Setup(controlPlane);
    s.renewing("a", "b", "c");
    s.awaitMembers("a", "b", "c");
    Await.until("a majority acknowledges", WAIT, s.liveness::fencingAllowed);

    s.silence("c");

    Await.until("c declared dead", WAIT, () -> s.liveness.isDead(s.node("c")));
    assertThat(s.liveness.confirmDead(s.node("c"))).isTrue();
    assertThat(annotations(s.admin, s.namespace, s.node("c"))).containsKey(NodeLeases.FENCED_ANNOTATION);
    assertThat(s.liveness.isDead(s.node("a"))).isFalse();
    assertThat(s.metric("lockwarden.fencing.suspended")).isZero();
    assertThat(s.disruption()).as("fenced, not suspended").isNotNull().extracting(Condition::getStatus)
        .isEqualTo("False");
  }

  @Test
  void withoutAMajorityNobodyIsDeclaredDeadAndTheDisruptionIsReported(ControlPlane controlPlane) {
    Setup s = new Setup(controlPlane);
    s.renewing("a", "b", "c");
    s.awaitMembers("a", "b", "c");
    Await.until("a majority acknowledges", WAIT, s.liveness::fencingAllowed);

    // Two of three stop renewing: the API server is the likelier culprit, and they may run on each other's promises.
    s.silence("b", "c");

    Await.until("b and c are suspects", WAIT, () -> s.liveness.suspects().equals(Set.of(s.node("b"), s.node("c"))));
    Condition disruption = Await.value("Disruption=True", WAIT, () -> {
      Condition c = s.disruption();
      return c != null && "True".equals(c.getStatus()) ? c : null;
    });
    assertThat(disruption.getReason()).isEqualTo(QuorumConditions.Reason.MajorityNotAcknowledging.name());
    assertThat(disruption.getMessage()).contains("1 of 3 members acknowledge").contains(s.node("b"))
        .contains(s.node("c"));
    Quorum quorum = s.quorumObject();
    assertThat(quorum.getStatus().members).isEqualTo(3);
    assertThat(quorum.getStatus().acknowledging).isEqualTo(1);
    assertThat(quorum.getStatus().window).isEqualTo("3s");
    assertThat(quorum.getStatus().suspectNodes).containsExactly(s.node("b"), s.node("c"));
    assertThat(s.metric("lockwarden.fencing.suspended")).isEqualTo(1);
    assertThat(s.metric("lockwarden.quorum.members")).isEqualTo(3);
    assertThat(s.metric("lockwarden.quorum.acknowledging")).isEqualTo(1);
    Await.until("Event FencingSuspended on the Quorum", WAIT, () -> s.hasEvent("FencingSuspended"));

    // Well past nodeTimeout + grace (3 s here): never dead, never fenced.
    assertStays("b and c not dead", Duration.ofSeconds(6),
        () -> !s.liveness.isDead(s.node("b")) && !s.liveness.isDead(s.node("c")));
    assertThat(s.liveness.confirmDead(s.node("b"))).isFalse();
    assertThat(annotations(s.admin, s.namespace, s.node("b"))).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);
    assertThat(annotations(s.admin, s.namespace, s.node("c"))).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);

    // They come back: fencing resumes. Whichever renews a moment after the other is reprieved, not fenced for it.
    s.renewing("b", "c");
    Await.until("Disruption=False", WAIT, () -> {
      Condition c = s.disruption();
      return c != null && "False".equals(c.getStatus());
    });
    assertThat(s.disruption().getReason()).isEqualTo(QuorumConditions.Reason.MajorityAcknowledging.name());
    assertThat(s.metric("lockwarden.fencing.suspended")).isZero();
    Await.until("Event FencingResumed on the Quorum", WAIT, () -> s.hasEvent("FencingResumed"));
    assertThat(s.liveness.suspects()).isEmpty();
    Await.until("b and c alive again", WAIT, () -> s.liveness.isAlive(s.node("b")) && s.liveness.isAlive(s.node("c")));
    assertThat(annotations(s.admin, s.namespace, s.node("b"))).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);
    assertThat(annotations(s.admin, s.namespace, s.node("c"))).doesNotContainKey(NodeLeases.FENCED_ANNOTATION);
  }

  /** One operator's liveness, rounds and report (nodeTimeout 2 s + grace 1 s, W 3 s), and nodes renewing as agents. */
  private final class Setup {
    final KubernetesClient admin;
    final String namespace;
    final String prefix = TestObjects.uniqueName("n");
    final QuorumGate quorum = new QuorumGate(Duration.ofSeconds(3));
    final NodeLiveness liveness;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final Map<String, ScheduledExecutorService> agents = new ConcurrentHashMap<>();

    Setup(ControlPlane controlPlane) {
      admin = controlPlane.admin();
      namespace = TestObjects.createNamespace(admin, "quorum");
      new TimingPublisher(admin, namespace, Duration.ofSeconds(2), Duration.ofSeconds(1), "test").publish();
      liveness = new NodeLiveness(admin, namespace, Duration.ofSeconds(2), Duration.ofSeconds(1), quorum);
      QuorumRounds rounds = new QuorumRounds(admin, namespace, liveness, quorum);
      OperatorMetrics metrics = new OperatorMetrics(registry, liveness::aliveCount);
      EventRecorder events = new EventRecorder(admin, "test");
      QuorumReport report = new QuorumReport(admin, namespace, liveness, quorum, metrics, events);
      liveness.start();
      rounds.start();
      report.start();
      started.addAll(List.of(liveness, rounds, events, report, () -> agents.values().forEach(this::shutdown)));
    }

    String node(String shortName) {
      return prefix + "-" + shortName;
    }

    /** Each renews every 300 ms with the newest round, as an agent would. */
    void renewing(String... shortNames) {
      for (String shortName : shortNames) {
        ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor();
        loop.scheduleWithFixedDelay(() -> {
          try {
            AgentRenewals.renew(admin, namespace, node(shortName));
          } catch (RuntimeException e) {
            // the next renewal tries again, as an agent's would
          }
        }, 0, 300, TimeUnit.MILLISECONDS);
        agents.put(shortName, loop);
      }
    }

    void silence(String... shortNames) {
      for (String shortName : shortNames) {
        shutdown(agents.remove(shortName));
      }
    }

    private void shutdown(ScheduledExecutorService loop) {
      loop.shutdownNow();
      try {
        loop.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void awaitMembers(String... shortNames) {
      Members expected = Members.parse(String.join(",",
          java.util.Arrays.stream(shortNames).map(n -> node(n) + "=10.0.0.1:7475").toList()));
      Await.until("members " + expected.format() + " published", WAIT, () -> {
        var timing = admin.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).get();
        return expected.format().equals(timing.getData().get(TimingConfigMap.MEMBERS))
            && quorum.members().equals(expected);
      });
    }

    Quorum quorumObject() {
      return admin.resources(Quorum.class).inNamespace(namespace).withName(Quorum.NAME).get();
    }

    Condition disruption() {
      Quorum object = quorumObject();
      return object == null || object.getStatus() == null || object.getStatus().conditions == null ? null
          : object.getStatus().conditions.stream().filter(c -> QuorumConditions.DISRUPTION.equals(c.getType()))
              .findFirst().orElse(null);
    }

    double metric(String name) {
      return registry.get(name).gauge().value();
    }

    boolean hasEvent(String reason) {
      return admin.v1().events().inNamespace(namespace).list().getItems().stream()
          .anyMatch(e -> reason.equals(e.getReason()) && "Quorum".equals(e.getInvolvedObject().getKind())
              && Quorum.NAME.equals(e.getInvolvedObject().getName()));
    }
  }

  /** Checks {@code condition} every 100 ms for {@code period}: a bounded "stays true", not a wait for something. */
  private static void assertStays(String what, Duration period, BooleanSupplier condition) {
    long deadline = System.nanoTime() + period.toNanos();
    while (System.nanoTime() < deadline) {
      assertThat(condition.getAsBoolean()).as(what).isTrue();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** A renewal as agents sent it before TIME-4: no round, so it acknowledges nothing. */
  private static void renewWithoutRound(KubernetesClient admin, String namespace, String node) {
    Lease lease = new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(NodeLeases.name(node)).withNamespace(namespace).build())
        .withNewSpec().withHolderIdentity(node).withRenewTime(ZonedDateTime.now()).endSpec().build();
    admin.resource(lease).serverSideApply();
  }

  private static Map<String, String> annotations(KubernetesClient admin, String namespace, String node) {
    Lease lease = admin.leases().inNamespace(namespace).withName(NodeLeases.name(node)).get();
    return lease.getMetadata().getAnnotations() == null ? Map.of() : lease.getMetadata().getAnnotations();
  }
}
