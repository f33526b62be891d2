package io.lockwarden.e2e.chart;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's alerts, exactly as its PrometheusRule renders them, checked and unit-tested by promtool: the tests in
 * helm/tests/alerts.test.yaml say when each alert fires and what it says.
 */
class AlertRulesIT {
  private static final Path TEST_FILE = Tools.repoRoot().resolve("helm/tests/alerts.test.yaml");
  private static Path dir;
  private static JsonNode rules;

  @BeforeAll
  static void renderRules() throws IOException {
    JsonNode rule = Chart.only(Chart.release("lockwarden", "lockwarden-system")
        .set("metrics.prometheusRule.enabled", "true")
        .showOnly("templates/prometheusrule.yaml").objects(), "PrometheusRule", "lockwarden");
    rules = rule.path("spec");
    dir = Files.createDirectories(Path.of("target", "alert-rules")).toAbsolutePath();
    // A Prometheus rule file is the PrometheusRule's spec: {groups: [...]}.
    Files.writeString(dir.resolve("lockwarden-alerts.rules.yaml"), Chart.toYaml(rules));
    Files.copy(TEST_FILE, dir.resolve("alerts.test.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void promtoolAcceptsTheRules() {
    Tools.Result check = Tools.run(dir, null, Tools.promtool(), "check", "rules", "lockwarden-alerts.rules.yaml");

    assertThat(check.exitCode()).as(check.describe()).isZero();
    assertThat(check.out()).as(check.describe()).contains("SUCCESS: 9 rules found");
  }

  @Test
  void everyAlertBehavesAsItsUnitTestsSay() {
    Tools.Result test = Tools.run(dir, null, Tools.promtool(), "test", "rules", "alerts.test.yaml");

    assertThat(test.exitCode()).as(test.describe()).isZero();
    assertThat(test.out()).as(test.describe()).contains("SUCCESS");
  }

  @Test
  void everyAlertIsTestedFiringAndNotFiring() throws IOException {
    Set<String> alerts = new TreeSet<>();
    rules.path("groups").forEach(g -> g.path("rules").forEach(r -> alerts.add(r.path("alert").asText())));
    JsonNode tests = Chart.YAML.readTree(TEST_FILE.toFile()).path("tests");
    Set<String> testedFiring = new TreeSet<>();
    Set<String> testedQuiet = new TreeSet<>();
    tests.forEach(t -> t.path("alert_rule_test").forEach(a ->
        (a.path("exp_alerts").isEmpty() ? testedQuiet : testedFiring).add(a.path("alertname").asText())));

    assertThat(alerts).containsExactly("LockwardenAgentDown", "LockwardenFencingSuspended", "LockwardenLeaseContended",
        "LockwardenLocalLockBusy", "LockwardenMigrationFailing", "LockwardenNodeFenced", "LockwardenOperatorDown",
        "LockwardenSplitBrainDetected", "LockwardenTimingRuleBroken");
    assertThat(testedFiring).as("alerts with a case where they fire").isEqualTo(alerts);
    assertThat(testedQuiet).as("alerts with a case where they must not fire").isEqualTo(alerts);
  }

  @Test
  void everyAlertLinksItsRunbookWhenTheChartIsToldWhere() {
    JsonNode linked = Chart.only(Chart.release("lockwarden", "lockwarden-system")
        .set("metrics.prometheusRule.enabled", "true")
        .set("metrics.prometheusRule.runbookBaseUrl", "https://git.example.com/lockwarden/blob/main/docs/operations.md")
        .showOnly("templates/prometheusrule.yaml").objects(), "PrometheusRule", "lockwarden");
    List<String> urls = new ArrayList<>();
    linked.path("spec").path("groups").forEach(g -> g.path("rules").forEach(r ->
        urls.add(r.path("alert").asText() + " " + r.path("annotations").path("runbook_url").asText())));

    assertThat(urls).hasSize(9).allSatisfy(line -> {
      String[] parts = line.split(" ");
      assertThat(parts[1]).isEqualTo("https://git.example.com/lockwarden/blob/main/docs/operations.md#" + parts[0].toLowerCase());
    });
  }
}
