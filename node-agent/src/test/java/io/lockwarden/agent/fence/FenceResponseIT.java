package io.lockwarden.agent.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.cluster.WatchEvents;
import io.lockwarden.agent.domain.DomainGrants;
import io.lockwarden.agent.domain.DomainRecord;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hole (d) of issue #13: a fenced node whose cache lags behind the fresh list taken at the fence never starts or
 * extends under a grant it held at the mark. The lag here is real: an informer cache stopped before the operator
 * revoked the grant, against the real API server.
 */
@ExtendWith(ControlPlaneExtension.class)
class FenceResponseIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static KubernetesClient admin;
  private static String namespace;

  @TempDir
  Path runDir;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = TestObjects.createNamespace(admin, "fence");
  }

  @Test
  void aGrantHeldAtTheMarkIsSpentWhateverALaggingCacheSays() throws Exception {
    String node = TestObjects.uniqueName("node");
    String uid = java.util.UUID.randomUUID().toString();
    String leaseName = TestObjects.uniqueName("disk");
    DiskLease lease = admin.resource(TestObjects.diskLease(leaseName, "/srv/disks/" + leaseName + ".img")).create();
    lease.setStatus(new DiskLeaseStatus());
    LeaseHolder holder = new LeaseHolder();
    holder.domain = namespace + "/vm";
    holder.uid = uid;
    holder.node = node;
    holder.mode = AccessMode.Exclusive;
    holder.epoch = 3L;
    lease.getStatus().holders = List.of(holder);
    lease.getStatus().epoch = 3L;
    lease = admin.resource(lease).updateStatus();

    ClusterView lagging = new ClusterView(admin, "node-a", WatchEvents.NONE);
    lagging.start(() -> { });
    Await.until("the cache shows the grant", WAIT, () -> !lagging.leasesHeldBy(uid).isEmpty());
    lagging.close(); // from here on the cache sees nothing more: it lags

    lease.getStatus().holders = List.of(); // the operator revokes the dead node's grant...
    admin.resource(lease).updateStatus();
    NodeHeartbeat heartbeat = new NodeHeartbeat(admin, namespace, node, Duration.ofSeconds(6), System::nanoTime,
        () -> io.lockwarden.api.TimingConfigMap.data(Duration.ofSeconds(10), Duration.ofSeconds(2), "test"),
        new AgentMetrics(node), false);
    assertThat(heartbeat.renewOnce()).isTrue();
    fence(node); // ...and fences the node's Lease
    assertThat(heartbeat.renewOnce()).as("the renewal raced the fence").isFalse();
    assertThat(heartbeat.renewOnce()).isTrue();
    assertThat(heartbeat.fencedSince()).isNotNull();

    SpentGrants spent = new SpentGrants(runDir);
    FenceResponse response = new FenceResponse(node, heartbeat, lagging, spent, new AgentMetrics(node));
    DomainRecord record = new DomainRecord(uid, new RunDir(runDir.resolve(uid)));
    response.onMark(heartbeat.fencedSince(), lagging.freshLeases(), List.of(record));

    assertThat(spent.contains(leaseName + ",3")).as("held at the mark, as the lagging cache says").isTrue();
    SupervisedDomain domain = TestObjects.domain(namespace, "vm", node,
        TestObjects.disk(lease.getSpec().path, AccessMode.Exclusive));
    domain.getMetadata().setUid(uid);
    DomainGrants grants = DomainGrants.of(domain, node, true, lagging.leasesHeldBy(uid), spent.view());
    assertThat(grants.held()).as("the cache still lists the grant").hasSize(1);
    assertThat(grants.complete()).as("but it is never used again").isFalse();

    assertThat(heartbeat.renewOnce()).as("the mark is cleared: none of its grants is listed any more").isTrue();
    assertThat(heartbeat.fencedSince()).isNull();
    assertThat(response.startsAllowed()).as("no start while the cache is behind the list taken at the fence")
        .isFalse();
    assertThat(new SpentGrants(runDir).contains(leaseName + ",3")).as("remembered across an agent restart").isTrue();
  }

  @Test
  void startsResumeOnceTheCacheHasCaughtUpWithTheFence() throws Exception {
    String node = TestObjects.uniqueName("node");
    NodeHeartbeat heartbeat = new NodeHeartbeat(admin, namespace, node, Duration.ofSeconds(6), System::nanoTime,
        () -> io.lockwarden.api.TimingConfigMap.data(Duration.ofSeconds(10), Duration.ofSeconds(2), "test"),
        new AgentMetrics(node), false);
    assertThat(heartbeat.renewOnce()).isTrue();
    fence(node);
    heartbeat.renewOnce();
    assertThat(heartbeat.renewOnce()).isTrue();
    ClusterView view = new ClusterView(admin, "node-a", WatchEvents.NONE);
    view.start(() -> { });
    try {
      FenceResponse response = new FenceResponse(node, heartbeat, view, new SpentGrants(runDir),
          new AgentMetrics(node));
      String doomed = TestObjects.uniqueName("disk");
      admin.resource(TestObjects.diskLease(doomed, "/srv/disks/" + doomed + ".img")).create();
      Await.until("the cache has the lease", WAIT, () -> view.lease(doomed) != null);
      response.onMark(heartbeat.fencedSince(), view.freshLeases(), List.of());
      // A lease in the list taken at the fence, deleted since: gone from the cache for good, which is caught up.
      admin.resources(DiskLease.class).withName(doomed).delete();
      Await.until("the cache saw it go", WAIT, () -> view.lease(doomed) == null);
      assertThat(response.startsAllowed()).as("the mark is still on the Lease").isFalse();
      assertThat(heartbeat.renewOnce()).isTrue(); // clears it: this node held nothing
      Await.until("a watching cache catches up and starts are allowed again", WAIT, response::startsAllowed);
    } finally {
      view.close();
    }
  }

  private static void fence(String node) {
    Lease lease = admin.leases().inNamespace(namespace).withName(NodeLeases.name(node)).get();
    lease.getMetadata().setAnnotations(new HashMap<>());
    lease.getMetadata().getAnnotations().put(NodeLeases.FENCED_ANNOTATION, java.time.Instant.now().toString());
    admin.resource(lease).update();
  }
}
