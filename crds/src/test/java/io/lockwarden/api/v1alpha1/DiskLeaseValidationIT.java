package io.lockwarden.api.v1alpha1;

import static io.lockwarden.testing.TestObjects.diskLease;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The real API server refuses every bad DiskLease at admission, with a message a user understands. */
@ExtendWith(ControlPlaneExtension.class)
class DiskLeaseValidationIT {
  private static KubernetesClient admin;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
  }

  @Test
  void acceptsAnAbsoluteNormalizedPathAndFillsDefaults() {
    DiskLease created = admin.resource(diskLease(uniqueName("ok"), "/srv/disks/vm-1.qcow2")).create();

    assertThat(created.getSpec().type).isEqualTo(DiskType.Disk);
  }

  @ParameterizedTest(name = "{0} is refused: {1}")
  @CsvSource(delimiter = '|', value = {
      "disks/vm.img           | must be an absolute path (start with /)",
      "/srv/../etc/shadow     | must be normalized: no . or .. segments",
      "/srv/./vm.img          | must be normalized: no . or .. segments",
      "/srv/..                | must be normalized: no . or .. segments",
      "/srv//vm.img           | must be normalized: no // in the path",
      "/srv/disks/            | must be normalized: no trailing /",
      "/                      | must be normalized: no trailing /",
  })
  void refusesPathsThatAreNotAbsoluteAndNormalized(String path, String message) {
    assertRefused(diskLease(uniqueName("bad"), path), "spec.path", message);
  }

  @Test
  void refusesANulInThePath() {
    assertRefused(diskLease(uniqueName("nul"), "/srv/vm\u0000.img"), "spec.path", "must not contain a NUL character");
  }

  @Test
  void refusesAPathLongerThan4096Bytes() {
    // 2,100 two-byte characters: within maxLength in characters, over PATH_MAX in bytes.
    String path = "/" + "é".repeat(2100);
    assertRefused(diskLease(uniqueName("long"), path), "spec.path", "must be at most 4096 bytes");
  }

  @Test
  void refusesAMissingPath() {
    assertRefused(diskLease(uniqueName("nopath"), null), "spec.path", "Required value");
  }

  @Test
  void refusesAMissingSpec() {
    DiskLease lease = diskLease(uniqueName("nospec"), "/srv/x.img");
    lease.setSpec(null);
    assertRefused(lease, "", "spec is required");
  }

  @Test
  void refusesMaxSharedHoldersBelowOne() {
    DiskLease lease = diskLease(uniqueName("max"), "/srv/shared.img");
    lease.getSpec().maxSharedHolders = 0;
    assertRefused(lease, "spec.maxSharedHolders", "should be greater than or equal to 1");
  }

  @Test
  void refusesAChangeOfThePath() {
    DiskLease lease = admin.resource(diskLease(uniqueName("immutable"), "/srv/a.img")).create();
    lease.getSpec().path = "/srv/b.img";

    assertThatThrownBy(() -> admin.resource(lease).update())
        .isInstanceOf(KubernetesClientException.class)
        .hasMessageContaining("path is immutable");
  }

  private static void assertRefused(DiskLease lease, String field, String message) {
    assertThatThrownBy(() -> admin.resource(lease).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422))
        .hasMessageContaining(field)
        .hasMessageContaining(message);
  }
}
