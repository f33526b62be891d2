package io.lockwarden.operator.it;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Node death: grants revoked, domains fenced, and moved to the next live candidate with new epochs. */
@ExtendWith(ControlPlaneExtension.class)
class FailoverIT {
  /** Short timeouts keep the test quick; the rules are the same at the defaults (10 s + 2 s). */
  /** 3 s + 1 s: the quorum window (3 s) must be shorter (safety.md, TIME-4), and longer than a renewal's 2 s + 0.5 s. */
  private static final Map<String, String> FAST = Map.of("LOCKWARDEN_NODE_TIMEOUT", "3s", "LOCKWARDEN_GRACE", "1s");
  private static Cluster cluster;
  private static LeaseHistory history;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    history = LeaseHistory.record(controlPlane.admin());
    cluster = Cluster.start(controlPlane, "fo", FAST, "a", "b", "c", "d", "e");
  }

  /** The nodes a test killed are gone for good before the next: each test fences with a majority alive. */
  @AfterEach
  void removeDeadNodes() {
    cluster.removeDeadNodes();
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

  /**
   * Every grant of a dead node is revoked at its death, however many: the lease controller reconciles them at once,
   * and each asks to confirm the death. That race once left some of them held by the dead node until the next periodic
   * reconcile, five minutes later (benchmarks.md, item i: 28 of 250).
   */
  @Test
  void everyGrantOfADeadNodeIsRevokedAtItsDeathHoweverMany() {
    cluster.startAgent("g");
    List<String> leases = new java.util.ArrayList<>();
    List<String> vms = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String path = cluster.path(uniqueName("many") + ".img");
      leases.add(LeaseNames.autoName(path));
      vms.add(uniqueName("vm"));
      cluster.create(vms.get(i), "g", disk(path, Exclusive)); // pinned: no fail-over reconciles them again
    }
    Await.until("all 40 granted on node g", Cluster.WAIT,
        () -> leases.stream().allMatch(l -> cluster.lease(l) != null && !cluster.holders(l).isEmpty()));

    cluster.killAgent("g");
    // Deleted while their node dies, as a user clearing a dead host's VMs does: their finalizers wait for the grants,
    // and nothing but the node's death reconciles those leases again.
    vms.forEach(vm -> cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).delete());

    Await.until("every grant of the dead node revoked", Cluster.WAIT,
        () -> leases.stream().allMatch(l -> cluster.lease(l) == null || cluster.holders(l).isEmpty()));
    Await.until("every domain of the dead node gone", Cluster.WAIT,
        () -> vms.stream().allMatch(vm -> cluster.domain(vm) == null));
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

  /**
   * MIG-6 through the real operator: the target of a hand-off dies after the grants moved to it (it may have run and
   * written). The domain is not rolled back to the held source, whose process is older than its disks: with failover
   * Manual it stays Fenced on the target, its grants revoked, for a person to decide.
   */
  @Test
  void aTargetDyingAfterTheGrantsMovedToItIsFencedNotRolledBackToTheSource() {
    String path = cluster.path(uniqueName("mig") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    cluster.startAgent("g");
    cluster.startAgent("h");
    String probe = uniqueName("probe"); // the migration is refused unless the target is alive: prove it is
    cluster.create(probe, "h", disk(cluster.path(uniqueName("probe") + ".img"), Exclusive));
    cluster.awaitAllGranted(probe);
    SupervisedDomain domain = candidates(vm, path, "g", "h");
    domain.getSpec().placement.failover = FailoverPolicy.Manual;
    cluster.create(domain);
    long granted = cluster.awaitHolder(lease, vm).epoch;
    // Once the operator has written its part (phase Starting), what g's agent says once the process runs; only a
    // running domain migrates.
    cluster.awaitAllGranted(vm);
    report(vm, "test-agent", s -> s.phase = DomainPhase.Running);

    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).patch(
        PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"migration\":{\"targetNode\":\"" + cluster.node("h")
            + "\"}}}");
    MigrationStatus preparing = Await.value(vm + " decides on its migration", Cluster.WAIT,
        () -> cluster.domain(vm).getStatus().migration);
    assertThat(preparing.phase).as(preparing.message).isEqualTo(MigrationStatus.PREPARING);
    String startedAt = preparing.startedAt;
    report(vm, "lockwarden-agent-incoming", s -> {
      s.migration = new MigrationStatus();
      s.migration.incoming = new MigrationStatus.Incoming();
      s.migration.incoming.node = cluster.node("h");
      s.migration.incoming.startedAt = startedAt;
      s.migration.incoming.ready = true;
    });
    Await.until(vm + " hands off", Cluster.WAIT,
        () -> MigrationStatus.HANDING_OFF.equals(cluster.domain(vm).getStatus().migration.phase));
    report(vm, "lockwarden-agent-outgoing", s -> {
      s.migration = new MigrationStatus();
      s.migration.outgoing = new MigrationStatus.Outgoing();
      s.migration.outgoing.node = cluster.node("g");
      s.migration.outgoing.startedAt = startedAt;
      s.migration.outgoing.releasedAtMillis = System.currentTimeMillis();
    });
    LeaseHolder moved = Await.value("the grant moved to h", Cluster.WAIT, () -> {
      LeaseHolder h = cluster.awaitHolder(lease, vm);
      return h.node.equals(cluster.node("h")) ? h : null;
    });
    assertThat(moved.epoch).isEqualTo(granted + 1);
    Await.until(vm + " placed on h", Cluster.WAIT, () -> cluster.node("h").equals(cluster.domain(vm).getStatus().node));

    cluster.killAgent("h");

    SupervisedDomain failed = Await.value(vm + " fenced on h, its grant revoked", Cluster.WAIT, () -> {
      SupervisedDomain d = cluster.domain(vm);
      return d.getStatus().phase == DomainPhase.Fenced && cluster.holders(lease).isEmpty() ? d : null;
    });
    assertThat(failed.getStatus().migration.phase).isEqualTo(MigrationStatus.FAILED);
    assertThat(failed.getStatus().migration.message).contains("died after grants had moved to it")
        .doesNotContain("rolled back");
    assertThat(failed.getStatus().node).as("not back on the held source").isEqualTo(cluster.node("h"));
    assertThat(cluster.conditionReason(vm, DomainConditions.FENCED)).isEqualTo(DomainConditions.REASON_NODE_DEAD);
  }

  /** A server-side apply of status fields under {@code fieldManager}, as an agent writes its part. */
  private static void report(String domain, String fieldManager, Consumer<SupervisedDomainStatus> fields) {
    SupervisedDomain patch = new SupervisedDomain();
    patch.setMetadata(new ObjectMetaBuilder().withNamespace(cluster.apps).withName(domain).build());
    patch.setStatus(new SupervisedDomainStatus());
    fields.accept(patch.getStatus());
    PatchContext apply = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    apply.setFieldManager(fieldManager);
    apply.setForce(true);
    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(domain).subresource("status")
        .patch(apply, patch);
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
