package io.lockwarden.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The chart's CRDs are the ones the crds module generates from the model, byte for byte: one source, no hand-edited
 * copy. The crds build copies them into helm/lockwarden/crds/ (helm/sync-crds.sh), except on CI, where this test
 * catches a model change committed without its chart copy.
 */
class ChartCrdsIT {
  private static final Path CHART_CRDS = Tools.chartDir().resolve("crds");

  @Test
  void theChartCarriesExactlyTheGeneratedCrds() throws IOException {
    List<String> generated = ControlPlane.CRD_RESOURCES.stream().map(r -> r.substring(r.lastIndexOf('/') + 1)).toList();
    try (Stream<Path> files = Files.list(CHART_CRDS)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .as("files in %s (the generated CRDs and nothing else)", CHART_CRDS)
          .containsExactlyInAnyOrderElementsOf(generated);
    }
    for (String resource : ControlPlane.CRD_RESOURCES) {
      Path copy = CHART_CRDS.resolve(resource.substring(resource.lastIndexOf('/') + 1));
      try (InputStream in = ControlPlane.class.getClassLoader().getResourceAsStream(resource)) {
        assertThat(in).as("generated CRD %s on the class path", resource).isNotNull();
        assertThat(Files.readString(copy))
            .as("%s must equal the CRD generated from the model: build the crds module (mvn -pl crds process-classes)"
                + " and commit the copy it writes", copy)
            .isEqualTo(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void helmInstallsThemFromTheChart() {
    String rendered = Chart.release("lockwarden", "lockwarden-system").includeCrds().render();

    assertThat(Chart.parse(rendered))
        .filteredOn(o -> o.path("kind").asText().equals("CustomResourceDefinition"))
        .extracting(o -> o.path("metadata").path("name").asText())
        .containsExactlyInAnyOrder("diskleases.lockwarden.io", "superviseddomains.lockwarden.io",
            "quorums.lockwarden.io");
  }
}
