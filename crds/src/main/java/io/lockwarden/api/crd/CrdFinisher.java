package io.lockwarden.api.crd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.Quorum;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Build step, run right after the CRD generator, for the two things its annotations cannot say:
 * <ul>
 *   <li>printer columns in the order they are declared on the resource class: the generator sorts them by JSON path,
 *       and kubectl shows them in CRD order, so {@code kubectl get dl} would start with Age instead of Path;
 *   <li>{@code status.conditions} as a list map keyed by type, so that with server-side apply the operator and the
 *       node agent each own their own conditions in the one list.
 * </ul>
 *
 * <p>Usage: {@code CrdFinisher <directory of generated CRDs>}.
 */
public final class CrdFinisher {
  private static final Map<String, Class<?>> RESOURCES = Map.of(
      "diskleases.lockwarden.io-v1.yml", DiskLease.class,
      "superviseddomains.lockwarden.io-v1.yml", SupervisedDomain.class,
      "quorums.lockwarden.io-v1.yml", Quorum.class);

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER));

  private CrdFinisher() {}

  public static void main(String[] args) throws IOException {
    Path directory = Path.of(args[0]);
    for (Map.Entry<String, Class<?>> resource : RESOURCES.entrySet()) {
      Path file = directory.resolve(resource.getKey());
      JsonNode crd = YAML.readTree(file.toFile());
      List<String> declared = Arrays.stream(resource.getValue().getAnnotationsByType(AdditionalPrinterColumn.class))
          .map(AdditionalPrinterColumn::name)
          .toList();
      for (JsonNode version : crd.path("spec").path("versions")) {
        reorder((ObjectNode) version, declared);
        conditionsAsMap(version.path("schema").path("openAPIV3Schema").path("properties").path("status"));
      }
      YAML.writeValue(file.toFile(), crd);
    }
  }

  private static void conditionsAsMap(JsonNode status) {
    JsonNode conditions = status.path("properties").path("conditions");
    if (conditions instanceof ObjectNode list) {
      list.put("x-kubernetes-list-type", "map");
      list.putArray("x-kubernetes-list-map-keys").add("type");
      ((ObjectNode) list.path("items")).putArray("required").add("type").add("status");
    }
  }

  private static void reorder(ObjectNode version, List<String> declared) {
    JsonNode columns = version.path("additionalPrinterColumns");
    List<JsonNode> sorted = new ArrayList<>();
    columns.forEach(sorted::add);
    if (sorted.size() != declared.size()) {
      throw new IllegalStateException("expected columns " + declared + " in the generated CRD, found " + columns);
    }
    sorted.sort((a, b) -> declared.indexOf(a.path("name").asText()) - declared.indexOf(b.path("name").asText()));
    ArrayNode ordered = version.putArray("additionalPrinterColumns");
    sorted.forEach(ordered::add);
  }
}
