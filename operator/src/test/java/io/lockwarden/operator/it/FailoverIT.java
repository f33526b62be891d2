package io.lockwarden.operator.it;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Node death: grants revoked, domains fenced, and moved to the next live candidate with new epochs. */
@ExtendWith(ControlPlaneExtension.class)
class FailoverIT {
  /** Short timeouts keep the test quick; the rules are the same at the defaults (10 s + 2 s). */
  private static final Map<String, String> FAST = Map.of("LOCKWARDEN_NODE_TIMEOUT", "2s", "LOCKWARDEN_GRACE", "1s");
  private static Cluster cluster;
  private static LeaseHistory history;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    history = LeaseHistory.record(controlPlane.admin());
    cluster = Cluster.start(controlPlane, "fo", FAST, "a", "b", "c", "d", "e");
  }

  @AfterAll
  static void stop() {
    assertThat(history.violations()).isEmpty();
    history.close();
    cluster.close();
  }

  @Test
  void aDeadNodesDomainFailsOverToTheNextLiveCandidateWithANewEpoch() {
    String path = cluster.path(uniqueName("fo") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    cluster.create(candidates(vm, path, "a", "b"));
    LeaseHolder before = cluster.awaitHolder(lease, vm);
    assertThat(before.node).isEqualTo(cluster.node("a"));

    cluster.killAgent("a");

    LeaseHolder after = Await.value(vm + " granted again on node b", Cluster.WAIT, () -> {
      LeaseHolder h = cluster.awaitHolder(lease, vm);
      return h.node.equals(cluster.node("b")) ? h : null;
    });
    assertThat(after.epoch).isGreaterThan(before.epoch);
    assertThat(cluster.holders(lease)).containsExactly(cluster.key(vm));
    SupervisedDomain domain = cluster.awaitAllGranted(vm);
    assertThat(domain.getStatus().node).isEqualTo(cluster.node("b"));
    assertThat(cluster.conditionReason(vm, DomainConditions.FENCED)).isEqualTo(DomainConditions.REASON_FAILED_OVER);
    Await.until("Fenced and FailedOver events", Cluster.WAIT, () -> cluster.admin.v1().events().inNamespace(cluster.apps)
        .list().getItems().stream().filter(e -> vm.equals(e.getInvolvedObject().getName())).map(e -> e.getReason())
        .toList().containsAll(List.of("FailedOver")));
    assertThat(cluster.operator().get("/metrics")).containsPattern("lockwarden_node_fenced_total [1-9]");
  }

  @Test
  void withManualFailoverTheDomainStaysFencedUntilItsNodeReturns() {
    String path = cluster.path(uniqueName("manual") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    SupervisedDomain domain = candidates(vm, path, "c", "e");
    domain.getSpec().placement.failover = FailoverPolicy.Manual;
    cluster.create(domain);
    long epoch = cluster.awaitHolder(lease, vm).epoch;

    cluster.killAgent("c");

    Await.until(vm + " is fenced and its grant revoked", Cluster.WAIT, () -> cluster.holders(lease).isEmpty()
        && cluster.domain(vm).getStatus().phase == DomainPhase.Fenced);
    assertThat(cluster.domain(vm).getStatus().node).isEqualTo(cluster.node("c"));
    assertThat(cluster.conditionReason(vm, DomainConditions.FENCED)).isEqualTo(DomainConditions.REASON_NODE_DEAD);

    cluster.startAgent("c");
    LeaseHolder again = cluster.awaitHolder(lease, vm);
    assertThat(again.node).isEqualTo(cluster.node("c"));
    assertThat(again.epoch).isGreaterThan(epoch);
  }

  /** The operator is SIGKILLed right after the node dies: its successor still fences, fails over, and reuses no epoch. */
  @Test
  void anOperatorRestartDuringFailoverChangesNothing() {
    String path = cluster.path(uniqueName("restart") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    cluster.create(candidates(vm, path, "d", "b"));
    LeaseHolder before = cluster.awaitHolder(lease, vm);

    cluster.killAgent("d");
    cluster.operator().kill();
    cluster.startOperator("fo-successor");

    LeaseHolder after = Await.value(vm + " granted on node b by the new operator", Cluster.WAIT, () -> {
      LeaseHolder h = cluster.awaitHolder(lease, vm);
      return h.node.equals(cluster.node("b")) ? h : null;
    });
    assertThat(after.epoch).isEqualTo(before.epoch + 1);
    assertThat(cluster.lease(lease).getStatus().holders).hasSize(1);
  }

  /**
   * A domain placed on a node that never ran an agent is told so (NodeUnknown), not that its node stopped renewing:
   * unlike a dead node's domain, it was never granted anything there, is not fenced, and just waits.
   */
  @Test
  void aDomainOnANodeThatNeverRanAnAgentIsToldSoAndNotFenced() {
    String dead = uniqueName("vm");
    String path = cluster.path(uniqueName("dead") + ".img");
    cluster.startAgent("f");
    cluster.create(dead, "f", disk(path, Exclusive));
    cluster.awaitHolder(LeaseNames.autoName(path), dead);
    cluster.killAgent("f");
    // Once this domain is fenced, the operator has watched for longer than nodeTimeout + grace: a node it never saw is
    // then dead to it as well.
    Await.until(dead + " is fenced", Cluster.WAIT,
        () -> DomainConditions.REASON_NODE_DEAD.equals(cluster.conditionReason(dead, DomainConditions.FENCED)));

    String typo = uniqueName("vm");
    String nowhere = cluster.node("nowhere");
    cluster.create(typo, "nowhere", disk(cluster.path(uniqueName("typo") + ".img"), Exclusive));

    Await.until(typo + " says its node never ran an agent", Cluster.WAIT, () -> DomainConditions.REASON_NODE_UNKNOWN
        .equals(cluster.conditionReason(typo, DomainConditions.LEASES_GRANTED)));
    SupervisedDomain domain = cluster.domain(typo);
    assertThat(condition(domain, DomainConditions.LEASES_GRANTED).getMessage())
        .isEqualTo("no lockwarden agent has ever renewed a Lease for node " + nowhere + " (no Lease lockwarden-node-"
            + nowhere + " seen): is the agent installed there, and is the node's name right?");
    assertThat(condition(domain, DomainConditions.FENCED).getReason()).isEqualTo(DomainConditions.REASON_NODE_UNKNOWN);
    assertThat(condition(domain, DomainConditions.FENCED).getStatus()).isEqualTo("False");
    assertThat(domain.getStatus().phase).isEqualTo(DomainPhase.Pending);
    assertThat(domain.getStatus().node).isEqualTo(nowhere);
    // The node that stopped renewing keeps its own reasons.
    assertThat(cluster.conditionReason(dead, DomainConditions.LEASES_GRANTED))
        .isEqualTo(DomainConditions.REASON_NO_LIVE_NODE);
    assertThat(cluster.domain(dead).getStatus().phase).isEqualTo(DomainPhase.Fenced);

    // Its agent comes: the domain is granted there.
    cluster.startAgent("nowhere");
    assertThat(cluster.awaitAllGranted(typo).getStatus().node).isEqualTo(nowhere);
    assertThat(cluster.conditionReason(typo, DomainConditions.FENCED)).isEqualTo("NodeAlive");
  }

  private static Condition condition(SupervisedDomain domain, String type) {
    return domain.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
  }

  private static SupervisedDomain candidates(String name, String path, String... shortNodes) {
    SupervisedDomain domain = TestObjects.domain(cluster.apps, name, null, disk(path, Exclusive));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = java.util.Arrays.stream(shortNodes).map(cluster::node).toList();
    return domain;
  }
}
