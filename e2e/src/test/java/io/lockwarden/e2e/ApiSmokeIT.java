package io.lockwarden.e2e;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.diskLease;
import static io.lockwarden.testing.TestObjects.domain;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.HttpResponse;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseState;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.net.URL;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The API as a user meets it through kubectl: CRDs installed, objects accepted, status separate, watches live. */
@ExtendWith(ControlPlaneExtension.class)
class ApiSmokeIT {
  private static KubernetesClient admin;
  private static String namespace;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = createNamespace(admin, "smoke");
  }

  @Test
  void bothCrdsAreEstablishedWithTheirNamesAndCategory() {
    CustomResourceDefinition leases = admin.apiextensions().v1().customResourceDefinitions()
        .withName("diskleases.lockwarden.io").get();
    CustomResourceDefinition domains = admin.apiextensions().v1().customResourceDefinitions()
        .withName("superviseddomains.lockwarden.io").get();

    assertThat(leases.getSpec().getScope()).isEqualTo("Cluster");
    assertThat(leases.getSpec().getNames().getShortNames()).containsExactly("dl");
    assertThat(domains.getSpec().getScope()).isEqualTo("Namespaced");
    assertThat(domains.getSpec().getNames().getShortNames()).containsExactly("sd");
    assertThat(List.of(leases, domains)).allSatisfy(crd -> {
      assertThat(crd.getSpec().getNames().getCategories()).containsExactly("lockwarden");
      assertThat(crd.getSpec().getVersions()).singleElement().satisfies(v -> {
        assertThat(v.getName()).isEqualTo("v1alpha1");
        assertThat(v.getSubresources().getStatus()).isNotNull();
      });
    });
  }

  @Test
  void validObjectsAreAccepted() {
    DiskLease lease = admin.resource(diskLease(uniqueName("images"), "/srv/images/base.qcow2")).create();
    SupervisedDomain vm = admin.resource(domain(namespace, uniqueName("vm"), "node-a",
        disk("/srv/vm-1.qcow2", AccessMode.Exclusive), disk("/srv/images/base.qcow2", AccessMode.ReadOnly))).create();

    assertThat(lease.getMetadata().getUid()).isNotBlank();
    assertThat(vm.getMetadata().getUid()).isNotBlank();
    assertThat(vm.getSpec().disks).extracting(d -> d.mode).containsExactly(AccessMode.Exclusive, AccessMode.ReadOnly);
  }

  @Test
  void statusIsASubresourceSeparateFromSpec() {
    DiskLease lease = admin.resource(diskLease(uniqueName("sub"), "/srv/sub.img")).create();

    // A status written through the main resource is dropped ...
    lease.setStatus(grantedTo("ns/vm", 7L));
    DiskLease afterSpecWrite = admin.resource(lease).update();
    assertThat(afterSpecWrite.getStatus()).isNull();

    // ... and a spec change written through /status is dropped, while the status lands.
    afterSpecWrite.setStatus(grantedTo("ns/vm", 7L));
    afterSpecWrite.getSpec().maxSharedHolders = 3;
    DiskLease afterStatusWrite = admin.resource(afterSpecWrite).updateStatus();
    assertThat(afterStatusWrite.getStatus().epoch).isEqualTo(7L);
    assertThat(afterStatusWrite.getSpec().maxSharedHolders).isNull();
    assertThat(afterStatusWrite.getMetadata().getGeneration()).isEqualTo(lease.getMetadata().getGeneration());
  }

  @Test
  void aStatusWriteWithAStaleResourceVersionIsRefused() {
    DiskLease created = admin.resource(diskLease(uniqueName("occ"), "/srv/occ.img")).create();
    DiskLease first = Serialization.clone(created);
    DiskLease second = Serialization.clone(created);

    first.setStatus(grantedTo("ns/first", 1L));
    admin.resource(first).updateStatus();

    second.setStatus(grantedTo("ns/second", 1L));
    assertThatThrownBy(() -> admin.resource(second).updateStatus())
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).isEqualTo(409));
  }

  @Test
  void aWatchSeesStatusUpdates() throws Exception {
    String name = uniqueName("watched");
    admin.resource(diskLease(name, "/srv/watched.img")).create();
    BlockingQueue<DiskLease> seen = new LinkedBlockingQueue<>();
    try (Watch ignored = admin.resources(DiskLease.class).withName(name).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, DiskLease resource) {
        seen.add(resource);
      }

      @Override
      public void onClose(WatcherException cause) {}
    })) {
      admin.resources(DiskLease.class).withName(name).editStatus(l -> {
        l.setStatus(grantedTo("ns/vm", 42L));
        return l;
      });

      DiskLease event;
      do {
        event = seen.poll(30, TimeUnit.SECONDS);
        assertThat(event).as("a watch event carrying the new status within 30 s").isNotNull();
      } while (event.getStatus() == null);
      assertThat(event.getStatus().epoch).isEqualTo(42L);
      assertThat(event.getStatus().holders).extracting(h -> h.domain).containsExactly("ns/vm");
    }
  }

  @Test
  void kubectlColumnsShowTheArbitrationRecord() throws Exception {
    String name = uniqueName("columns");
    admin.resource(diskLease(name, "/srv/columns.img")).create();
    admin.resources(DiskLease.class).withName(name).editStatus(l -> {
      l.setStatus(grantedTo("ns/vm", 3L));
      return l;
    });

    // kubectl asks the server for a Table; the columns come from the CRD's additionalPrinterColumns.
    JsonNode table = getAsTable("/apis/lockwarden.io/v1alpha1/diskleases/" + name);
    List<String> columns = new ArrayList<>();
    table.get("columnDefinitions").forEach(c -> columns.add(c.get("name").asText()));
    assertThat(columns).containsExactly("Name", "Path", "State", "Holders", "Waiting", "Epoch", "Age");
    JsonNode cells = table.get("rows").get(0).get("cells");
    assertThat(cells.get(1).asText()).isEqualTo("/srv/columns.img");
    assertThat(cells.get(2).asText()).isEqualTo("Exclusive");
    assertThat(cells.get(3).asInt()).isEqualTo(1);
    assertThat(cells.get(4).asInt()).isEqualTo(0);
    assertThat(cells.get(5).asLong()).isEqualTo(3L);
  }

  @Test
  void domainColumnsArePhaseNodePidLeasesAge() throws Exception {
    String name = uniqueName("vm");
    admin.resource(domain(namespace, name, "node-a", disk("/srv/cols-vm.img", AccessMode.Exclusive))).create();

    JsonNode table = getAsTable("/apis/lockwarden.io/v1alpha1/namespaces/" + namespace + "/superviseddomains/" + name);
    List<String> columns = new ArrayList<>();
    table.get("columnDefinitions").forEach(c -> columns.add(c.get("name").asText()));
    assertThat(columns).containsExactly("Name", "Phase", "Node", "PID", "Leases", "Age");
  }

  private static JsonNode getAsTable(String path) throws Exception {
    HttpRequest request = admin.getHttpClient().newHttpRequestBuilder()
        .url(new URL(admin.getMasterUrl(), path))
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .build();
    HttpResponse<String> response = admin.getHttpClient().sendAsync(request, String.class).get(30, TimeUnit.SECONDS);
    assertThat(response.code()).isEqualTo(200);
    return Serialization.jsonMapper().readTree(response.body());
  }

  private static DiskLeaseStatus grantedTo(String domain, long epoch) {
    LeaseHolder holder = new LeaseHolder();
    holder.domain = domain;
    holder.uid = "uid-1";
    holder.node = "node-a";
    holder.mode = AccessMode.Exclusive;
    holder.epoch = epoch;
    DiskLeaseStatus status = new DiskLeaseStatus();
    status.state = LeaseState.Exclusive;
    status.epoch = epoch;
    status.holders.add(holder);
    status.holderCount = 1;
    status.waitingCount = 0;
    return status;
  }
}
