package io.lockwarden.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * examples/ as a GitOps tool applies it: `kubectl kustomize` of the demo and of each overlay, accepted by a real API
 * server with the lockwarden CRDs (server-side dry run: schema, CEL rules and admission all run, nothing is stored).
 */
@ExtendWith(ControlPlaneExtension.class)
class ExamplesIT {
  private static Kubectl kubectl;

  @BeforeAll
  static void namespace(ControlPlane controlPlane) {
    kubectl = Kubectl.of(controlPlane);
    // A dry run creates nothing, so the namespace the domains go into must exist for real.
    kubectl.apply(Chart.toYaml(only(kustomize("examples"), "Namespace").get(0)));
  }

  private static List<JsonNode> kustomize(String dir) {
    return Chart.parse(kubectl.run(null, "kustomize", Tools.repoRoot().resolve(dir).toString()).expectOk());
  }

  private static List<JsonNode> only(List<JsonNode> objects, String kind) {
    return objects.stream().filter(o -> kind.equals(o.path("kind").asText())).toList();
  }

  private static void assertAccepted(List<JsonNode> objects) {
    Tools.Result dryRun = kubectl.dryRun(objects.stream().map(Chart::toYaml).collect(Collectors.joining("---\n")));
    assertThat(dryRun.exitCode()).as(dryRun.describe()).isZero();
    assertThat(dryRun.out().lines().filter(l -> l.endsWith("(server dry run)"))).hasSize(objects.size());
  }

  private static JsonNode domain(List<JsonNode> objects, String name) {
    return Chart.only(objects, "SupervisedDomain", name);
  }

  @Test
  void theDemoDeclaresAnImageStoreAndThreeVmsUsingEveryAccessMode() {
    List<JsonNode> demo = kustomize("examples");

    assertAccepted(demo);
    assertThat(only(demo, "DiskLease")).extracting(l -> l.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder("image-debian-12", "image-alpine-3", "shared-data", "vm-alpha-root");
    assertThat(only(demo, "SupervisedDomain")).extracting(d -> d.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder("vm-alpha", "vm-beta", "vm-gamma");
    assertThat(only(demo, "SupervisedDomain").stream()
        .flatMap(d -> d.path("spec").path("disks").findValuesAsText("mode").stream()).distinct())
        .containsExactlyInAnyOrder("Exclusive", "Shared", "ReadOnly");
  }

  @Test
  void theConflictIsASecondExclusiveWriterForADiskVmAlphaHolds() throws java.io.IOException {
    List<JsonNode> demo = kustomize("examples");
    List<JsonNode> conflict = new java.util.ArrayList<>();
    try (var files = java.nio.file.Files.list(Tools.repoRoot().resolve("examples/conflict"))) {
      for (java.nio.file.Path file : files.sorted().toList()) {
        conflict.addAll(Chart.parse(java.nio.file.Files.readString(file)));
      }
    }

    assertAccepted(conflict);
    JsonNode intruder = domain(conflict, "vm-intruder");
    JsonNode wanted = intruder.path("spec").path("disks").get(0);
    assertThat(wanted.path("mode").asText()).isEqualTo("Exclusive");
    assertThat(domain(demo, "vm-alpha").path("spec").path("disks"))
        .anySatisfy(disk -> {
          assertThat(disk.path("leaseName").asText()).isEqualTo(wanted.path("leaseName").asText());
          assertThat(disk.path("mode").asText()).isEqualTo("Exclusive");
        });
    assertThat(Chart.only(demo, "DiskLease", wanted.path("leaseName").asText())).isNotNull();
  }

  @Test
  void theMigrateOverlayMovesVmAlphaToNodeBAndNothingElse() {
    List<JsonNode> base = kustomize("examples");
    List<JsonNode> migrate = kustomize("examples/overlays/migrate");

    assertAccepted(migrate);
    assertThat(domain(migrate, "vm-alpha").path("spec").path("migration").path("targetNode").asText()).isEqualTo("node-b");
    JsonNode withoutMigration = domain(migrate, "vm-alpha").deepCopy();
    ((com.fasterxml.jackson.databind.node.ObjectNode) withoutMigration.path("spec")).remove("migration");
    assertThat(withoutMigration).isEqualTo(domain(base, "vm-alpha"));
    assertThat(migrate.stream().filter(o -> !o.equals(domain(migrate, "vm-alpha")))).containsExactlyInAnyOrderElementsOf(
        base.stream().filter(o -> !o.equals(domain(base, "vm-alpha"))).toList());
  }

  @Test
  void theMaintenanceOverlayStopsTheSharedDisksUsersAndHoldsItExclusively() {
    List<JsonNode> maintenance = kustomize("examples/overlays/maintenance");

    assertAccepted(maintenance);
    JsonNode holder = domain(maintenance, "maintenance-shared-data");
    assertThat(holder.path("spec").path("disks")).singleElement().satisfies(disk -> {
      assertThat(disk.path("leaseName").asText()).isEqualTo("shared-data");
      assertThat(disk.path("mode").asText()).isEqualTo("Exclusive");
    });
    for (JsonNode user : only(maintenance, "SupervisedDomain")) {
      boolean usesSharedData = user.path("spec").path("disks").findValuesAsText("leaseName").contains("shared-data");
      if (usesSharedData && user != holder) {
        assertThat(user.path("spec").path("running").asBoolean(true))
            .as("%s uses shared-data and must be stopped", user.path("metadata").path("name").asText()).isFalse();
      }
    }
  }
}
