package io.lockwarden.e2e.chart;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The chart as an administrator meets it: helm lint, its values' schema, and what it renders applied to a real API server. */
@ExtendWith(ControlPlaneExtension.class)
class ChartRenderIT {
  /** Monitoring kinds need the Prometheus Operator's CRDs, which this control plane does not have. */
  private static final Set<String> NEEDS_PROMETHEUS_OPERATOR = Set.of("ServiceMonitor", "PrometheusRule");

  private static Chart production(String namespace) {
    return Chart.release("lockwarden", namespace)
        .set("image.registry", "registry.example.com")
        .set("agent.diskRoots", "{/srv/vm-disks,/srv/images}")
        .set("agent.lockspaceDir", "/var/lib/lockwarden/lockspace")
        .set("agent.allowedExecutables", "{/usr/bin/qemu-system-x86_64}")
        .set("agent.runAsUid", "107")
        .set("agent.runAsGid", "107")
        .set("metrics.serviceMonitor.enabled", "true")
        .set("metrics.prometheusRule.enabled", "true");
  }

  @Test
  void helmLintIsCleanWithDefaultsAndWithEverythingOn() {
    Tools.Result defaults = Tools.run(Tools.repoRoot(), null, Tools.helm(), "lint", "--strict", Tools.chartDir());
    Tools.Result everything = Tools.run(Tools.repoRoot(), null, Tools.helm(), "lint", "--strict", Tools.chartDir(),
        "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true",
        "--set", "agent.diskRoots={/srv/vm-disks}", "--set", "agent.allowedExecutables={/usr/bin/qemu-system-x86_64}");

    for (Tools.Result lint : List.of(defaults, everything)) {
      assertThat(lint.exitCode()).as(lint.describe()).isZero();
      assertThat(lint.out()).as(lint.describe()).doesNotContain("[WARNING]", "[ERROR]").contains("0 chart(s) failed");
    }
  }

  @Test
  void everythingItRendersIsAcceptedByTheApiServer(ControlPlane controlPlane) {
    String namespace = createNamespace(controlPlane.admin(), "lockwarden-system");
    List<JsonNode> objects = production(namespace).includeCrds().objects();
    String applicable = objects.stream().filter(o -> !NEEDS_PROMETHEUS_OPERATOR.contains(o.path("kind").asText()))
        .map(Chart::toYaml).collect(Collectors.joining("---\n"));

    Tools.Result dryRun = Kubectl.of(controlPlane).dryRun(applicable);

    assertThat(dryRun.exitCode()).as(dryRun.describe()).isZero();
    assertThat(objects).extracting(o -> o.path("kind").asText()).containsExactlyInAnyOrder(
        "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition",
        "ServiceAccount", "ServiceAccount", "Secret",
        "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole",
        "ClusterRoleBinding", "ClusterRoleBinding", "Role", "Role", "RoleBinding", "RoleBinding",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicyBinding",
        "Deployment", "PodDisruptionBudget", "DaemonSet", "Service", "Service", "ServiceMonitor", "PrometheusRule");
    assertThat(dryRun.out().lines().filter(l -> l.endsWith("serverside-applied (server dry run)")))
        .as(dryRun.describe()).hasSize(objects.size() - NEEDS_PROMETHEUS_OPERATOR.size());
  }

  /**
   * Issue #17: agent upgrades that keep VMs running. Only a privileged agent is in the host's cgroup namespace, where
   * it may keep its supervisors outside its pod's cgroup (docs/operations.md); then RollingUpdate is the
   * administrator's to choose, and the API server accepts the result. The chart refuses what would defeat it.
   */
  @Test
  void aPrivilegedAgentMayRollAndTheChartRefusesWhatWouldKillItsSupervisors(ControlPlane controlPlane) {
    String namespace = createNamespace(controlPlane.admin(), "lockwarden-system");
    JsonNode agent = Chart.only(production(namespace).set("agent.privileged", "true")
        .set("agent.updateStrategy.type", "RollingUpdate").objects(), "DaemonSet", "lockwarden-agent");
    JsonNode pod = agent.path("spec").path("template").path("spec");
    JsonNode security = pod.path("containers").get(0).path("securityContext");

    assertThat(agent.path("spec").path("updateStrategy").path("type").asText()).isEqualTo("RollingUpdate");
    assertThat(pod.path("hostPID").asBoolean()).isTrue();
    assertThat(security.path("privileged").asBoolean()).isTrue();
    assertThat(security.has("allowPrivilegeEscalation")).as("the API server refuses false with privileged").isFalse();
    Tools.Result dryRun = Kubectl.of(controlPlane).dryRun(Chart.toYaml(agent));
    assertThat(dryRun.exitCode()).as(dryRun.describe()).isZero();

    Tools.Result withoutHostPid = Tools.run(Tools.repoRoot(), null, Tools.helm(), "template", "x", Tools.chartDir(),
        "--set", "agent.privileged=true", "--set", "agent.hostPID=false");
    assertThat(withoutHostPid.exitCode()).as(withoutHostPid.describe()).isNotZero();
    assertThat(withoutHostPid.err()).contains("agent.privileged needs agent.hostPID");
    Tools.Result surge = Tools.run(Tools.repoRoot(), null, Tools.helm(), "template", "x", Tools.chartDir(),
        "--set", "agent.updateStrategy.type=RollingUpdate", "--set", "agent.updateStrategy.rollingUpdate.maxSurge=1");
    assertThat(surge.exitCode()).as(surge.describe()).isNotZero();
    assertThat(surge.err()).contains("maxSurge must be 0");
  }

  @Test
  void theServiceMonitorScrapesBothMetricsServicesByPortName() {
    List<JsonNode> objects = production("lockwarden-system").objects();
    JsonNode monitor = Chart.only(objects, "ServiceMonitor", "lockwarden");
    JsonNode selector = monitor.path("spec").path("selector").path("matchLabels");
    String port = monitor.path("spec").path("endpoints").get(0).path("port").asText();

    List<JsonNode> services = objects.stream().filter(o -> o.path("kind").asText().equals("Service")).toList();
    assertThat(services).extracting(s -> s.path("metadata").path("name").asText())
        .as("their names are the job labels the alerts select").containsExactlyInAnyOrder("lockwarden-operator", "lockwarden-agent");
    assertThat(services).allSatisfy(service -> {
      selector.fields().forEachRemaining(label ->
          assertThat(service.path("metadata").path("labels").path(label.getKey()).asText()).isEqualTo(label.getValue().asText()));
      assertThat(service.path("spec").path("ports")).extracting(p -> p.path("name").asText()).contains(port);
    });
  }

  @Test
  void theAgentsShareAPeerKeyFromASecretAndAdvertiseTheirPodAddress() {
    var objects = production("lockwarden-system").objects();
    JsonNode secret = Chart.only(objects, "Secret", "lockwarden-agent-peer-key");
    String key = new String(java.util.Base64.getDecoder().decode(secret.path("data").path("key").asText()));
    assertThat(key).as("generated, long enough for the agent (16 bytes at least)").hasSizeGreaterThanOrEqualTo(32);
    JsonNode pod = Chart.only(objects, "DaemonSet", "lockwarden-agent").path("spec").path("template").path("spec");
    JsonNode container = pod.path("containers").get(0);
    assertThat(container.path("env")).filteredOn(e -> e.path("name").asText().equals("LOCKWARDEN_PEER_KEY_FILE"))
        .singleElement().satisfies(e -> assertThat(e.path("value").asText()).isEqualTo("/etc/lockwarden/peer/key"));
    assertThat(container.path("env")).filteredOn(e -> e.path("name").asText().equals("POD_IP")).singleElement()
        .satisfies(e -> assertThat(e.path("valueFrom").path("fieldRef").path("fieldPath").asText())
            .isEqualTo("status.podIP"));
    assertThat(pod.path("volumes")).filteredOn(v -> v.path("name").asText().equals("peer-key")).singleElement()
        .satisfies(v -> assertThat(v.path("secret").path("secretName").asText()).isEqualTo("lockwarden-agent-peer-key"));
    assertThat(container.path("ports")).extracting(p -> p.path("containerPort").asInt()).contains(7475);
  }

  @Test
  void theAgentGetsItsNodeFromTheDownwardApiAndItsDirectoriesFromTheHost() {
    JsonNode agent = Chart.only(production("lockwarden-system").objects(), "DaemonSet", "lockwarden-agent");
    JsonNode pod = agent.path("spec").path("template").path("spec");
    JsonNode container = pod.path("containers").get(0);

    assertThat(agent.path("spec").path("updateStrategy").path("type").asText()).isEqualTo("OnDelete");
    assertThat(pod.path("hostPID").asBoolean()).isTrue();
    assertThat(container.path("env")).filteredOn(e -> e.path("name").asText().equals("NODE_NAME")).singleElement()
        .satisfies(e -> assertThat(e.path("valueFrom").path("fieldRef").path("fieldPath").asText()).isEqualTo("spec.nodeName"));
    assertThat(pod.path("volumes")).filteredOn(v -> v.has("hostPath"))
        .extracting(v -> v.path("hostPath").path("path").asText())
        .containsExactlyInAnyOrder("/var/run/lockwarden", "/var/lib/lockwarden/lockspace", "/srv/vm-disks", "/srv/images");
    assertThat(container.path("volumeMounts")).extracting(m -> m.path("mountPath").asText())
        .as("the node's paths, unchanged: domains name disks by them")
        .contains("/var/run/lockwarden", "/var/lib/lockwarden/lockspace", "/srv/vm-disks", "/srv/images");
    JsonNode security = container.path("securityContext");
    assertThat(security.path("privileged").asBoolean()).isFalse();
    assertThat(security.path("allowPrivilegeEscalation").asBoolean()).isFalse();
    assertThat(security.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(security.path("capabilities").path("drop")).extracting(JsonNode::asText).containsExactly("ALL");
    assertThat(security.path("capabilities").path("add")).extracting(JsonNode::asText)
        .containsExactlyInAnyOrder("DAC_OVERRIDE", "SETUID", "SETGID", "KILL");
  }

  @Test
  void badValuesAreRefusedWithAMessageNamingThem() {
    assertThat(Chart.release("lockwarden", "ns").set("operator.replicas", "two").tryRender())
        .satisfies(r -> assertThat(r.ok()).isFalse())
        .satisfies(r -> assertThat(r.err()).contains("/operator/replicas").contains("want integer"));
    assertThat(Chart.release("lockwarden", "ns").set("agent.diskRoots", "{srv/vms}").tryRender())
        .satisfies(r -> assertThat(r.ok()).isFalse())
        .satisfies(r -> assertThat(r.err()).contains("/agent/diskRoots/0"));
    assertThat(Chart.release("lockwarden", "ns").set("agent.fenceTimeout", "11500ms").tryRender())
        .satisfies(r -> assertThat(r.ok()).isFalse())
        .satisfies(r -> assertThat(r.err()).contains("operator.nodeTimeout + operator.grace (12000ms) must be at least"
            + " agent.fenceTimeout + 1s (12500ms)").doesNotContain("panic"));
    assertThat(Chart.release("lockwarden", "ns").set("operator.nodeTimeout", "10 seconds").tryRender())
        .satisfies(r -> assertThat(r.ok()).isFalse())
        .satisfies(r -> assertThat(r.err()).contains("/operator/nodeTimeout"));
    assertThat(Chart.release("lockwarden", "ns").set("agent.runAsUid", "107").tryRender())
        .satisfies(r -> assertThat(r.ok()).isFalse())
        .satisfies(r -> assertThat(r.err()).contains("agent.runAsUid and agent.runAsGid go together"));
  }
}
