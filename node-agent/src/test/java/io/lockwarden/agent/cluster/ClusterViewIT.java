package io.lockwarden.agent.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The agent's view of domains against the real API server: only those that name its node (issue #16), and every
 * domain, as before, where the API server refuses the field selectors (an older Kubernetes, or older CRDs).
 */
@ExtendWith(ControlPlaneExtension.class)
class ClusterViewIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static KubernetesClient admin;
  private static String namespace;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = TestObjects.createNamespace(admin, "view");
  }

  @Test
  void holdsOnlyTheDomainsThatNameItsNode() throws Exception {
    String mine = TestObjects.uniqueName("node");
    String other = TestObjects.uniqueName("node");
    SupervisedDomain placedHere = admin.resource(TestObjects.domain(namespace, TestObjects.uniqueName("vm"), mine))
        .create();
    admin.resource(TestObjects.domain(namespace, TestObjects.uniqueName("vm"), other)).create();
    try (ClusterView view = new ClusterView(admin, mine, WatchEvents.NONE)) {
      view.start(() -> { });
      assertThat(view.scoped()).isTrue();
      assertThat(view.domains()).extracting(d -> d.getMetadata().getName())
          .containsExactly(placedHere.getMetadata().getName());

      SupervisedDomain arriving = admin.resource(TestObjects.domain(namespace, TestObjects.uniqueName("vm"), other))
          .create();
      admin.resources(SupervisedDomain.class).inNamespace(namespace).withName(arriving.getMetadata().getName())
          .editStatus(d -> {
            d.setStatus(new io.lockwarden.api.v1alpha1.SupervisedDomainStatus());
            d.getStatus().migration = new io.lockwarden.api.v1alpha1.MigrationStatus();
            d.getStatus().migration.source = other;
            d.getStatus().migration.target = mine;
            return d;
          });
      Await.until("a migration's target sees the domain coming", WAIT, () -> view.domains().stream()
          .anyMatch(d -> d.getMetadata().getName().equals(arriving.getMetadata().getName())));
      assertThat(view.domains()).hasSize(2);
    }
  }

  @Test
  void fallsBackToEveryDomainWhenTheApiServerRefusesTheSelectors() throws Exception {
    String mine = TestObjects.uniqueName("node");
    String name = TestObjects.uniqueName("vm");
    admin.resource(TestObjects.domain(namespace, name, TestObjects.uniqueName("node"))).create();
    // spec.uuid is no selectable field: the API server answers 400, as one without selectableFields would.
    try (ClusterView view = new ClusterView(admin, mine, WatchEvents.NONE, List.of("spec.uuid"))) {
      view.start(() -> { });
      assertThat(view.scoped()).isFalse();
      assertThat(view.domains()).extracting(d -> d.getMetadata().getName()).contains(name);
    }
  }
}
