package io.lockwarden.e2e.chart;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.diskLease;
import static io.lockwarden.testing.TestObjects.domain;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.rbac.RoleBindingBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.agent.heartbeat.PublishedTiming;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.MigrationRequest;
import io.lockwarden.api.v1alpha1.Quorum;
import io.lockwarden.api.v1alpha1.QuorumStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The chart's RBAC and admission policies, enforced by the real API server against the identities the components
 * really have: the agent's and operator's service accounts (user, groups and the token's node claim, through
 * impersonation) and the certificate identities ./local-cluster gives them. What each may do, it must be able to do;
 * what it may not, the API server refuses with a message that says why.
 */
@ExtendWith(ControlPlaneExtension.class)
class LeastPrivilegeIT {
  private static ChartInstall chart;
  private static KubernetesClient admin;
  private static String apps;
  private static final List<KubernetesClient> clients = new ArrayList<>();

  @BeforeAll
  static void install(ControlPlane controlPlane) {
    chart = ChartInstall.rbacAndPolicies(controlPlane);
    admin = controlPlane.admin();
    apps = createNamespace(admin, "apps");
  }

  @AfterAll
  static void close() {
    clients.forEach(KubernetesClient::close);
  }

  private static KubernetesClient keep(KubernetesClient client) {
    clients.add(client);
    return client;
  }

  /** A domain the operator placed on {@code node}: status.node written under the operator's field manager. */
  private static SupervisedDomain placedOn(String node) {
    SupervisedDomain created = admin.resource(domain(apps, uniqueName("vm"), node,
        disk("/srv/" + uniqueName("disk") + ".img", AccessMode.Exclusive))).create();
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.node = node;
    status.phase = DomainPhase.Starting;
    return applyStatus(admin, created, status, "lockwarden-operator");
  }

  /** What the agent does: a server-side apply of its own status fields, under its field manager. */
  private static SupervisedDomain applyStatus(KubernetesClient client, SupervisedDomain domain,
      SupervisedDomainStatus status, String fieldManager) {
    SupervisedDomain patch = new SupervisedDomain();
    patch.setMetadata(new ObjectMetaBuilder().withNamespace(domain.getMetadata().getNamespace())
        .withName(domain.getMetadata().getName()).build());
    patch.setStatus(status);
    PatchContext apply = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    apply.setFieldManager(fieldManager);
    apply.setForce(true);
    return client.resources(SupervisedDomain.class).inNamespace(domain.getMetadata().getNamespace())
        .withName(domain.getMetadata().getName()).subresource("status").patch(apply, patch);
  }

  private static SupervisedDomainStatus running(long pid) {
    SupervisedDomainStatus status = new SupervisedDomainStatus();
    status.phase = DomainPhase.Running;
    status.pid = pid;
    return status;
  }

  private static Lease nodeLease(String namespace, String node) {
    return new LeaseBuilder()
        .withMetadata(new ObjectMetaBuilder().withName("lockwarden-node-" + node).withNamespace(namespace).build())
        .withNewSpec().withHolderIdentity(node).withLeaseDurationSeconds(6).withRenewTime(ZonedDateTime.now())
        .endSpec().build();
  }

  /** The agent's heartbeat: get, then create or update carrying the resourceVersion read. */
  private static Lease renew(KubernetesClient agent, String namespace, String node) {
    Lease current = agent.leases().inNamespace(namespace).withName("lockwarden-node-" + node).get();
    if (current == null) {
      return agent.resource(nodeLease(namespace, node)).create();
    }
    current.getSpec().setRenewTime(ZonedDateTime.now());
    return agent.resource(current).update();
  }

  /**
   * The timing the operator publishes, as an operator identity would write it: created the first time (another class,
   * or the real operator, may have done it), else put back to the defaults.
   */
  private static ConfigMap publishTiming(KubernetesClient operator) {
    ConfigMap timing = new ConfigMapBuilder().withNewMetadata().withName(TimingConfigMap.NAME)
        .withNamespace(chart.namespace).endMetadata()
        .withData(TimingConfigMap.data(Duration.ofSeconds(10), Duration.ofSeconds(2), "least-privilege")).build();
    ConfigMap existing = operator.configMaps().inNamespace(chart.namespace).withName(TimingConfigMap.NAME).get();
    if (existing == null) {
      return operator.resource(timing).create();
    }
    existing.setData(timing.getData());
    return operator.resource(existing).update();
  }

  private static void assertForbidden(ThrowingCallable write, String because) {
    assertThatThrownBy(write).isInstanceOfSatisfying(KubernetesClientException.class, e -> {
      assertThat(e.getCode()).as("HTTP status of: %s", e.getMessage()).isEqualTo(403);
      assertThat(e.getMessage()).contains(because);
    });
  }

  /** The agent as ./local-cluster runs it: a client certificate for lockwarden:agent:<node> in lockwarden:agents. */
  @Nested
  class AgentCertificate {
    private final KubernetesClient nodeA = keep(chart.agentCertificate("node-a"));

    @Test
    void writesTheStatusOfItsOwnNodesDomainsOnly() {
      SupervisedDomain mine = placedOn("node-a");
      SupervisedDomain theirs = placedOn("node-b");

      SupervisedDomain reported = applyStatus(nodeA, mine, running(4242), "lockwarden-agent");
      assertThat(reported.getStatus().pid).isEqualTo(4242L);
      assertThat(reported.getStatus().node).as("the operator's field, kept").isEqualTo("node-a");

      assertForbidden(() -> applyStatus(nodeA, theirs, running(4243), "lockwarden-agent"),
          "the agent of node node-a may only write the status of domains on its node; " + apps + "/"
              + theirs.getMetadata().getName() + " is on node node-b");
      assertThat(admin.resource(theirs).get().getStatus().pid).isNull();
    }

    @Test
    void beforePlacementTheNodeIsTheOneTheSpecNames() {
      SupervisedDomain forA = admin.resource(domain(apps, uniqueName("vm"), "node-a")).create();
      SupervisedDomain forB = admin.resource(domain(apps, uniqueName("vm"), "node-b")).create();
      SupervisedDomain candidates = domain(apps, uniqueName("vm"), "node-a");
      candidates.getSpec().placement.nodeName = null;
      candidates.getSpec().placement.nodes = List.of("node-a", "node-b");
      SupervisedDomain undecided = admin.resource(candidates).create();

      assertThat(applyStatus(nodeA, forA, running(1), "lockwarden-agent").getStatus().pid).isEqualTo(1L);
      assertForbidden(() -> applyStatus(nodeA, forB, running(2), "lockwarden-agent"),
          "/" + forB.getMetadata().getName() + " is on node node-b");
      assertForbidden(() -> applyStatus(nodeA, undecided, running(3), "lockwarden-agent"), "is not placed yet");
    }

    @Test
    void mayReportOnADomainMigratingToItsNode() {
      SupervisedDomain domain = placedOn("node-b");
      SupervisedDomain migrating = admin.resources(SupervisedDomain.class).inNamespace(apps)
          .withName(domain.getMetadata().getName()).edit(d -> {
            d.getSpec().migration = new MigrationRequest();
            d.getSpec().migration.targetNode = "node-a";
            return d;
          });

      assertThatCode(() -> applyStatus(nodeA, migrating, running(77), "lockwarden-agent")).doesNotThrowAnyException();
    }

    @Test
    void cannotMoveADomainToItsNode() {
      SupervisedDomain theirs = placedOn("node-b");
      SupervisedDomainStatus steal = new SupervisedDomainStatus();
      steal.node = "node-a";

      // Under the operator's field manager, so the apply would really change status.node.
      assertForbidden(() -> applyStatus(nodeA, theirs, steal, "lockwarden-operator"), "may only write the status of domains on its node");
      SupervisedDomain mine = placedOn("node-a");
      SupervisedDomainStatus away = new SupervisedDomainStatus();
      away.node = "node-c";
      assertForbidden(() -> applyStatus(nodeA, mine, away, "lockwarden-operator"),
          "status.node is the operator's placement decision: an agent may not change it");
    }

    @Test
    void cannotWriteAnyDiskLeaseStatusNorSpec() {
      DiskLease lease = admin.resource(diskLease(uniqueName("dl"), "/srv/" + uniqueName("disk") + ".img")).create();
      lease.setStatus(new DiskLeaseStatus());
      lease.getStatus().epoch = 1L;

      assertForbidden(() -> nodeA.resource(lease).updateStatus(),
          "cannot update resource \"diskleases/status\" in API group \"lockwarden.io\"");
      assertForbidden(() -> nodeA.resource(diskLease(uniqueName("dl"), "/srv/x.img")).create(),
          "cannot create resource \"diskleases\"");
      assertThat(nodeA.resources(DiskLease.class).withName(lease.getMetadata().getName()).get())
          .as("but it reads them: grants are proven there").isNotNull();
    }

    @Test
    void renewsItsOwnNodeLeaseOnly() {
      Lease created = renew(nodeA, chart.namespace, "node-a");
      Lease renewed = renew(nodeA, chart.namespace, "node-a");
      assertThat(renewed.getMetadata().getResourceVersion()).isNotEqualTo(created.getMetadata().getResourceVersion());

      assertForbidden(() -> nodeA.resource(nodeLease(chart.namespace, "node-b")).create(),
          "the agent of node node-a may only write Lease lockwarden-node-node-a, not lockwarden-node-node-b");
      Lease nodeB = admin.resource(nodeLease(chart.namespace, "node-b")).create();
      assertForbidden(() -> {
        Lease theirs = nodeA.leases().inNamespace(chart.namespace).withName(nodeB.getMetadata().getName()).get();
        theirs.getSpec().setRenewTime(ZonedDateTime.now());
        nodeA.resource(theirs).update();
      }, "may only write Lease lockwarden-node-node-a, not lockwarden-node-node-b");
      assertForbidden(() -> nodeA.resource(renewed).delete(), "cannot delete resource \"leases\"");
    }

    @Test
    void readsAndWatchesTheOperatorsTimingAndNoOtherConfigMap() {
      publishTiming(admin);
      String ns = chart.namespace;
      admin.resource(new ConfigMapBuilder().withNewMetadata().withName("other").withNamespace(ns).endMetadata()
          .build()).serverSideApply();

      assertThat(nodeA.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).get()).isNotNull();
      assertThat(nodeA.configMaps().inNamespace(ns).withField("metadata.name", TimingConfigMap.NAME).list().getItems())
          .as("a list naming it by field selector").hasSize(1);
      try (Watch watch = nodeA.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).watch(new Watcher<>() {
        @Override
        public void eventReceived(Action action, ConfigMap resource) {}

        @Override
        public void onClose(WatcherException cause) {}
      })) {
        assertThat(watch).isNotNull();
      }
      try (PublishedTiming timing = new PublishedTiming(nodeA, ns).start()) {
        Await.until("the agent's informer has the timing", Duration.ofSeconds(30), () -> timing.get() != null);
      }

      assertForbidden(() -> nodeA.configMaps().inNamespace(ns).withName("other").get(),
          "cannot get resource \"configmaps\"");
      assertForbidden(() -> nodeA.configMaps().inNamespace(ns).list(), "cannot list resource \"configmaps\"");
      ConfigMap laxer = nodeA.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).get();
      laxer.getData().put(TimingConfigMap.NODE_TIMEOUT, "60s");
      assertForbidden(() -> nodeA.resource(laxer).update(), "cannot update resource \"configmaps\"");
      assertForbidden(() -> nodeA.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).delete(),
          "cannot delete resource \"configmaps\"");
    }

    @Test
    void anIdentityInTheAgentsGroupWithoutANodeWritesNothing() {
      KubernetesClient nameless = keep(chart.controlPlane.clientAs("someone", ChartInstall.AGENT_GROUP));
      SupervisedDomain domain = placedOn("someone");

      assertForbidden(() -> applyStatus(nameless, domain, running(5), "lockwarden-agent"), "names no node");
      assertForbidden(() -> nameless.resource(nodeLease(chart.namespace, "someone")).create(), "names no node");
    }
  }

  /** The agent as the chart runs it: its service account's pod-bound token, which carries the node-name claim. */
  @Nested
  class AgentServiceAccount {
    @Test
    void takesItsNodeFromTheTokensNodeClaim() {
      KubernetesClient nodeA = keep(chart.agentServiceAccount("node-a"));
      SupervisedDomain mine = placedOn("node-a");
      SupervisedDomain theirs = placedOn("node-b");

      assertThat(applyStatus(nodeA, mine, running(10), "lockwarden-agent").getStatus().pid).isEqualTo(10L);
      assertForbidden(() -> applyStatus(nodeA, theirs, running(11), "lockwarden-agent"),
          "the agent of node node-a may only write the status of domains on its node");
    }

    @Test
    void renewsTheLeaseOfTheNodeItsTokenNames() {
      KubernetesClient nodeD = keep(chart.agentServiceAccount("node-d"));

      assertThatCode(() -> renew(nodeD, chart.namespace, "node-d")).doesNotThrowAnyException();
      assertForbidden(() -> nodeD.resource(nodeLease(chart.namespace, "node-e")).create(),
          "the agent of node node-d may only write Lease lockwarden-node-node-d, not lockwarden-node-node-e");
    }

    @Test
    void aTokenWithoutTheNodeClaimWritesNothing() {
      KubernetesClient unbound = keep(chart.agentServiceAccount(null));
      SupervisedDomain domain = placedOn("node-a");

      assertForbidden(() -> applyStatus(unbound, domain, running(12), "lockwarden-agent"), "names no node");
      assertForbidden(() -> unbound.resource(nodeLease(chart.namespace, "node-a")).create(), "names no node");
    }
  }

  @Nested
  class Operator {
    @Test
    void addsAndRemovesFinalizersButNeverChangesASpec() {
      KubernetesClient operator = keep(chart.operatorServiceAccount());
      SupervisedDomain domain = placedOn("node-a");

      SupervisedDomain withFinalizer = operator.resources(SupervisedDomain.class).inNamespace(apps)
          .withName(domain.getMetadata().getName()).edit(d -> {
            d.getMetadata().getFinalizers().add("lockwarden.io/release");
            return d;
          });
      assertThat(withFinalizer.getMetadata().getFinalizers()).contains("lockwarden.io/release");

      assertForbidden(() -> operator.resources(SupervisedDomain.class).inNamespace(apps)
          .withName(domain.getMetadata().getName()).edit(d -> {
            d.getSpec().running = false;
            return d;
          }), "the operator may change a SupervisedDomain's finalizers and status, never its spec");
      assertForbidden(() -> operator.resources(SupervisedDomain.class).inNamespace(apps)
          .withName(domain.getMetadata().getName()).delete(), "cannot delete resource \"superviseddomains\"");
    }

    @Test
    void writesItsLeaderLeaseAndPathClaimsAndOnlyFencesNodeLeases() {
      KubernetesClient operator = keep(chart.operatorCertificate());
      String ns = chart.namespace;
      Lease claim = new LeaseBuilder().withMetadata(new ObjectMetaBuilder()
              .withName("lockwarden-path-" + uniqueName("sha")).withNamespace(ns).build())
          .withNewSpec().withHolderIdentity("dl/uid").endSpec().build();

      // The leader Lease is left to ComponentsUnderChartRbacIT, whose real operator must win it.
      assertThatCode(() -> operator.resource(operator.resource(claim).create()).delete()).doesNotThrowAnyException();
      assertForbidden(() -> operator.resource(new LeaseBuilder(claim).editMetadata().withName("kube-scheduler")
              .endMetadata().build()).create(),
          "the operator writes only its leader Lease and path claims");

      Lease node = renew(keep(chart.agentCertificate("node-f")), ns, "node-f");
      Lease fenced = operator.leases().inNamespace(ns).withName(node.getMetadata().getName()).edit(l -> {
        l.getMetadata().setAnnotations(Map.of("lockwarden.io/fenced-at", "2025-01-01T00:00:00Z"));
        return l;
      });
      assertThat(fenced.getMetadata().getAnnotations()).containsKey("lockwarden.io/fenced-at");
      assertForbidden(() -> operator.leases().inNamespace(ns).withName(node.getMetadata().getName()).edit(l -> {
        l.getSpec().setRenewTime(ZonedDateTime.now());
        return l;
      }), "of a node Lease only its fence mark (never the renewal)");
    }
  }

  @Nested
  class OperatorTiming {
    @Test
    void publishesItsTimingInOneConfigMapAndCreatesNoOther() {
      KubernetesClient operator = keep(chart.operatorServiceAccount());
      String ns = chart.namespace;

      ConfigMap published = publishTiming(operator);
      assertThat(published.getData()).containsEntry(TimingConfigMap.NODE_TIMEOUT, "10s");
      assertThat(publishTiming(operator).getData()).as("updated in place")
          .containsEntry(TimingConfigMap.PUBLISHED_BY, "least-privilege");

      assertForbidden(() -> operator.resource(new ConfigMapBuilder().withNewMetadata().withName("not-the-timing")
              .withNamespace(ns).endMetadata().build()).create(),
          "the operator creates only ConfigMap lockwarden-timing (its published timing); refused: ConfigMap "
              + "not-the-timing");
      assertForbidden(() -> operator.configMaps().inNamespace(ns).withName(TimingConfigMap.NAME).delete(),
          "cannot delete resource \"configmaps\"");
      assertForbidden(() -> operator.configMaps().inNamespace(apps).list(), "cannot list resource \"configmaps\"");
    }
  }

  @Nested
  class OperatorQuorum {
    @Test
    void reportsItsQuorumInItsNamespaceOnly() {
      KubernetesClient operator = keep(chart.operatorServiceAccount());
      String ns = chart.namespace;
      // Created once (the real operator of another class may have done it), then its status only.
      Quorum quorum = operator.resources(Quorum.class).inNamespace(ns).withName(Quorum.NAME).get();
      if (quorum == null) {
        Quorum fresh = new Quorum();
        fresh.setMetadata(new ObjectMetaBuilder().withName(Quorum.NAME).withNamespace(ns).build());
        quorum = operator.resource(fresh).create();
      }
      QuorumStatus status = new QuorumStatus();
      status.members = 3;
      status.acknowledging = 3;
      quorum.setStatus(status);
      assertThat(operator.resource(quorum).updateStatus().getStatus().members).isEqualTo(3);

      Quorum elsewhere = new Quorum();
      elsewhere.setMetadata(new ObjectMetaBuilder().withName(Quorum.NAME).withNamespace(apps).build());
      assertForbidden(() -> operator.resource(elsewhere).create(), "cannot create resource \"quorums\"");
      assertForbidden(() -> operator.resources(Quorum.class).inNamespace(ns).withName(Quorum.NAME).delete(),
          "cannot delete resource \"quorums\"");
    }
  }

  /** A namespace user bound to the chart's lockwarden-edit role (aggregated into the built-in edit and admin). */
  @Nested
  class NamespaceEditor {
    @Test
    void createsDomainsInItsNamespaceButTouchesNoStatus() {
      String team = createNamespace(admin, "team");
      String user = uniqueName("alice");
      admin.resource(new RoleBindingBuilder().withNewMetadata().withName("alice-edits").withNamespace(team).endMetadata()
          .withNewRoleRef().withApiGroup("rbac.authorization.k8s.io").withKind("ClusterRole").withName("lockwarden-edit")
          .endRoleRef()
          .addNewSubject().withApiGroup("rbac.authorization.k8s.io").withKind("User").withName(user).endSubject()
          .build()).create();
      KubernetesClient alice = keep(chart.controlPlane.clientAs(user, "system:authenticated"));

      SupervisedDomain vm = alice.resource(domain(team, "vm-1", "node-a")).create();
      assertThat(vm.getMetadata().getUid()).isNotBlank();
      assertThat(alice.resources(SupervisedDomain.class).inNamespace(team).list().getItems()).hasSize(1);

      assertForbidden(() -> alice.resource(domain(apps, "vm-1", "node-a")).create(),
          "cannot create resource \"superviseddomains\" in API group \"lockwarden.io\" in the namespace \"" + apps + "\"");
      SupervisedDomainStatus status = new SupervisedDomainStatus();
      status.phase = DomainPhase.Running;
      assertForbidden(() -> applyStatus(alice, vm, status, "alice"), "cannot patch resource \"superviseddomains/status\"");
      DiskLease lease = admin.resource(diskLease(uniqueName("dl"), "/srv/" + uniqueName("disk") + ".img")).create();
      lease.setStatus(new DiskLeaseStatus());
      assertForbidden(() -> alice.resource(lease).updateStatus(), "cannot update resource \"diskleases/status\"");
    }
  }
}
