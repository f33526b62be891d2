package io.lockwarden.e2e.chart;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** `helm template` of helm/lockwarden, as `helm install` would render it, and the objects it yields. */
final class Chart {
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final ObjectMapper JSON = JsonMapper.builder().build();

  private final String release;
  private final String namespace;
  private final Map<String, String> values = new LinkedHashMap<>();
  private final List<String> showOnly = new ArrayList<>();
  private boolean includeCrds;

  private Chart(String release, String namespace) {
    this.release = release;
    this.namespace = namespace;
  }

  static Chart release(String release, String namespace) {
    return new Chart(release, namespace);
  }

  /** A --set value; lists as {a,b}. */
  Chart set(String key, String value) {
    values.put(key, value);
    return this;
  }

  Chart showOnly(String... templates) {
    showOnly.addAll(List.of(templates));
    return this;
  }

  Chart includeCrds() {
    includeCrds = true;
    return this;
  }

  Tools.Result tryRender() {
    List<String> argv = new ArrayList<>(List.of(Tools.helm().toString(), "template", release, Tools.chartDir().toString(),
        "--namespace", namespace));
    if (includeCrds) {
      argv.add("--include-crds");
    }
    values.forEach((k, v) -> {
      argv.add("--set");
      argv.add(k + "=" + v);
    });
    showOnly.forEach(t -> {
      argv.add("--show-only");
      argv.add(t);
    });
    return Tools.run(Tools.repoRoot(), null, argv);
  }

  String render() {
    return tryRender().expectOk();
  }

  List<JsonNode> objects() {
    return parse(render());
  }

  static List<JsonNode> parse(String multiDocumentYaml) {
    List<JsonNode> objects = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(multiDocumentYaml)) {
      for (JsonNode doc : YAML.readValues(parser, JsonNode.class).readAll()) {
        if (doc != null && !doc.isNull() && !doc.isEmpty()) {
          objects.add(doc);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return objects;
  }

  static String toYaml(JsonNode object) {
    try {
      return YAML.writeValueAsString(object).replaceFirst("^---\\n", "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode only(List<JsonNode> objects, String kind, String name) {
    List<JsonNode> found = objects.stream()
        .filter(o -> kind.equals(o.path("kind").asText()) && name.equals(o.path("metadata").path("name").asText()))
        .toList();
    if (found.size() != 1) {
      throw new AssertionError("expected one " + kind + " " + name + ", found " + found.size());
    }
    return found.get(0);
  }
}
