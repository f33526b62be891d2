package io.lockwarden.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.v1alpha1.DiskLease;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The fixture itself: RBAC is on, and a test can act as a non-admin identity, so later tests can test RBAC for real. */
@ExtendWith(ControlPlaneExtension.class)
class ControlPlaneIT {
  @Test
  void aNonAdminIdentityIsAuthorizedByRbac(ControlPlane controlPlane) {
    String user = TestObjects.uniqueName("reader");
    try (KubernetesClient asUser = controlPlane.clientAs(user)) {
      assertThatThrownBy(() -> asUser.resources(DiskLease.class).list())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));

      KubernetesClient admin = controlPlane.admin();
      admin.resource(new ClusterRoleBuilder().withNewMetadata().withName(user).endMetadata()
          .addNewRule().withApiGroups("lockwarden.io").withResources("diskleases").withVerbs("list").endRule()
          .build()).create();
      admin.resource(new ClusterRoleBindingBuilder().withNewMetadata().withName(user).endMetadata()
          .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", user)
          .addNewSubject().withKind("User").withName(user).withApiGroup("rbac.authorization.k8s.io").endSubject()
          .build()).create();

      Await.until(user + " may list DiskLeases", Duration.ofSeconds(30), () -> {
        asUser.resources(DiskLease.class).list();
        return true;
      });
      DiskLease lease = TestObjects.diskLease(user, "/srv/x.img");
      assertThatThrownBy(() -> asUser.resource(lease).create()).as("only what the role grants")
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(403));
    }
  }
}
