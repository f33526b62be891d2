package io.lockwarden.e2e.chart;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.domain;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.JavaProcess;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The real operator and a real agent do their whole job with nothing but the chart's RBAC and under its admission
 * policies: the operator as its service account, the agent as the certificate identity ./local-cluster gives it
 * (lockwarden:agent:<node> in lockwarden:agents). Leader election, heartbeats, automatic DiskLeases, path claims,
 * grants, queues, a process started and reported, releases, finalizers. Then each one's real /metrics goes through
 * `promtool check metrics` and must hold what the alerts and docs/metrics.md name.
 */
@ExtendWith(ControlPlaneExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ComponentsUnderChartRbacIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  /** Counters registered without a description; PROPOSED-CHANGES.md adds one to each. */

  private static ChartInstall chart;
  private static KubernetesClient admin;
  private static OperatorProcess operator;
  private static JavaProcess agent;
  private static String node;
  private static String apps;
  private static String path;

  @BeforeAll
  static void start(ControlPlane controlPlane) throws IOException {
    chart = ChartInstall.rbacAndPolicies(controlPlane);
    admin = controlPlane.admin();
    apps = createNamespace(admin, "apps");
    node = uniqueName("node");
    Path base = Files.createDirectories(Path.of("target", "chart-tests", node).toAbsolutePath());
    Path disks = Files.createDirectories(base.resolve("disks"));
    path = Files.createFile(disks.resolve("shared.img")).toString();
    Path kubeconfig = base.resolve("admin.kubeconfig");
    Files.writeString(kubeconfig, controlPlane.kubeconfigYaml());

    // The operator must create its published timing itself (another class may have left one), and the agent wait
    // for it: agents renew nothing until it exists.
    admin.configMaps().inNamespace(chart.namespace).withName(TimingConfigMap.NAME).delete();
    Await.until("no published timing left", WAIT,
        () -> admin.configMaps().inNamespace(chart.namespace).withName(TimingConfigMap.NAME).get() == null);

    // Both JVMs start at once. The fabric8 client takes impersonation from the environment like any other
    // kubeconfig setting.
    Map<String, String> agentEnv = Map.of(
        "KUBECONFIG", kubeconfig.toString(),
        "KUBERNETES_IMPERSONATE_USERNAME", "lockwarden:agent:" + node,
        "KUBERNETES_IMPERSONATE_GROUP", ChartInstall.AGENT_GROUP + ",system:authenticated",
        "NODE_NAME", node, "LOCKWARDEN_NAMESPACE", chart.namespace,
        "LOCKWARDEN_RUN_DIR", base.resolve("run").toString(),
        "LOCKWARDEN_ALLOWED_EXECUTABLES", "/bin/sleep", "LOCKWARDEN_ALLOWED_PATH_PREFIXES", disks.toString(),
        "LOCKWARDEN_METRICS_PORT", "0", "LOCKWARDEN_METRICS_ADDRESS", "127.0.0.1");
    CompletableFuture<JavaProcess> startingAgent = CompletableFuture.supplyAsync(
        () -> JavaProcess.start("node-agent", "io.lockwarden.agent.AgentMain", node, agentEnv, List.of()));
    try {
      operator = OperatorProcess.startAs(controlPlane,
          "system:serviceaccount:" + chart.namespace + ":" + ChartInstall.OPERATOR_SA,
          "system:serviceaccounts,system:serviceaccounts:" + chart.namespace + ",system:authenticated",
          Map.of("LOCKWARDEN_NAMESPACE", chart.namespace, "LOCKWARDEN_IDENTITY", "operator-0",
              "LOCKWARDEN_LEADER_ELECTION", "true"));
    } finally {
      agent = startingAgent.join();
    }
  }

  @AfterAll
  static void stop() {
    if (operator != null) {
      operator.close();
    }
    if (agent != null) {
      agent.close();
    }
  }

  private static SupervisedDomain sleeper(String name) {
    SupervisedDomain domain = domain(apps, name, node, disk(path, AccessMode.Exclusive));
    domain.getSpec().command = List.of("/bin/sleep", "infinity");
    domain.getSpec().stopGracePeriodSeconds = 5L;
    return domain;
  }

  private static SupervisedDomain get(String name) {
    return admin.resources(SupervisedDomain.class).inNamespace(apps).withName(name).get();
  }

  @Test
  @Order(1)
  void aDomainIsGrantedStartedAndReportedAndASecondWriterWaits() {
    admin.resource(sleeper("first")).create();

    SupervisedDomain running = Await.value("the agent reports the first domain Running", WAIT, () -> {
      SupervisedDomain d = get("first");
      return d != null && d.getStatus() != null && d.getStatus().phase == DomainPhase.Running
          && d.getStatus().pid != null ? d : null;
    });
    assertThat(running.getStatus().node).isEqualTo(node);
    assertThat(running.getMetadata().getFinalizers()).contains("lockwarden.io/release");
    assertThat(ProcessHandle.of(running.getStatus().pid)).as("the domain's process").hasValueSatisfying(
        p -> assertThat(p.isAlive()).isTrue());
    DiskLease lease = admin.resources(DiskLease.class).list().getItems().stream()
        .filter(l -> path.equals(l.getSpec().path)).findFirst().orElseThrow();
    assertThat(lease.getStatus().holders).singleElement()
        .satisfies(h -> assertThat(h.domain).isEqualTo(apps + "/first"));

    admin.resource(sleeper("second")).create();
    Await.until("the second domain queued and counted in lockwarden_lease_waiting", WAIT, () ->
        operator.get("/metrics").body().contains("lockwarden_lease_waiting{lease=\"" + lease.getMetadata().getName()
            + "\"} 1.0"));

    Lease leader = admin.leases().inNamespace(chart.namespace).withName("lockwarden-operator-leader").get();
    assertThat(leader.getSpec().getHolderIdentity()).isEqualTo("operator-0");
    assertThat(admin.configMaps().inNamespace(chart.namespace).withName(TimingConfigMap.NAME).get().getData())
        .as("the timing the agent renews under, created by the leader")
        .containsEntry(TimingConfigMap.PUBLISHED_BY, "operator-0").containsEntry(TimingConfigMap.NODE_TIMEOUT, "10s");
    assertThat(operator.get("/readyz").statusCode()).isEqualTo(200);
  }

  @Test
  @Order(2)
  void theOperatorsMetricsPassPromtoolAndAreTheDocumentedOnes() throws IOException {
    String metrics = operator.get("/metrics").body();
    Files.writeString(Path.of("target", "chart-tests", "operator-metrics.txt"), metrics);

    // promtool exits 1 when it cannot parse the exposition, 3 when it has lint findings. The only findings allowed
    // are JOSDK's own metrics without a description, which are not ours to fix.
    Tools.Result lint = Tools.run(Tools.repoRoot(), metrics, Tools.promtool(), "check", "metrics");
    assertThat(lint.exitCode()).as(lint.describe()).isIn(0, 3);
    assertThat((lint.out() + lint.err()).lines().filter(l -> !l.isBlank()))
        .as("promtool's findings").allSatisfy(finding -> {
          assertThat(finding).endsWith(" no help text");
          assertThat(finding.substring(0, finding.indexOf(' '))).as("only JOSDK's own metrics lack a description")
              .startsWith("operator_sdk_");
        });
    Set<String> exposed = families(metrics);
    assertThat(exposed).as("the operator's metrics the alerts use").contains(
        "lockwarden_lease_waiting", "lockwarden_node_fenced_total", "lockwarden_split_brain_detected_total");
    assertThat(exposed).as("the operator's metrics, as docs/metrics.md lists them").isEqualTo(documented("Operator"));
  }

  @Test
  @Order(2)
  void theAgentsMetricsPassPromtoolAndAreTheDocumentedOnes() throws IOException {
    String metrics = agent.get("/metrics").substring(4); // "200 " + body
    Files.writeString(Path.of("target", "chart-tests", "agent-metrics.txt"), metrics);

    Tools.Result lint = Tools.run(Tools.repoRoot(), metrics, Tools.promtool(), "check", "metrics");
    assertThat(lint.exitCode()).as(lint.describe()).isIn(0, 3);
    assertThat((lint.out() + lint.err()).lines().filter(l -> !l.isBlank())).as("promtool's findings").isEmpty();
    Set<String> exposed = families(metrics);
    assertThat(exposed).as("the agent's metrics the alerts use").contains("lockwarden_local_lock_conflicts_total");
    assertThat(exposed).as("the agent's metrics, as docs/metrics.md lists them").isEqualTo(documented("Agent"));
    assertThat(metrics).contains("lockwarden_supervisors_running{node=\"" + node + "\"} 1.0");
  }

  @Test
  @Order(3)
  void deletingReleasesEverythingAndTheWaiterGetsTheDisk() {
    admin.resources(SupervisedDomain.class).inNamespace(apps).withName("first").delete();

    Await.until("the first domain gone: process stopped, release reported, grant removed, finalizer removed", WAIT,
        () -> get("first") == null);
    SupervisedDomain second = Await.value("the second domain runs", WAIT, () -> {
      SupervisedDomain d = get("second");
      return d.getStatus() != null && d.getStatus().phase == DomainPhase.Running ? d : null;
    });
    assertThat(second.getStatus().node).isEqualTo(node);
    admin.resources(SupervisedDomain.class).inNamespace(apps).withName("second").delete();
    Await.until("the second domain gone", WAIT, () -> get("second") == null);
    assertThat(operator.log()).doesNotContainIgnoringCase("forbidden");
    assertThat(agent.log()).doesNotContainIgnoringCase("forbidden");
  }

  /** lockwarden_* metric families in a Prometheus text exposition. */
  private static Set<String> families(String exposition) {
    Set<String> names = new TreeSet<>();
    Matcher type = Pattern.compile("(?m)^# TYPE (lockwarden_\\w+) (\\w+)").matcher(exposition);
    while (type.find()) {
      names.add(type.group(1));
    }
    // Micrometer adds <timer>_max beside each histogram: part of the histogram, not a metric of its own.
    names.removeIf(name -> name.endsWith("_max") && names.contains(name.substring(0, name.length() - 4)));
    return names;
  }

  /** The metric names in the table under the heading "## {section}" of docs/metrics.md. */
  static Set<String> documented(String section) throws IOException {
    String doc = Files.readString(Tools.repoRoot().resolve("docs/metrics.md"));
    int start = doc.indexOf("\n## " + section + "\n");
    assertThat(start).as("a section '## %s' in docs/metrics.md", section).isNotNegative();
    int end = doc.indexOf("\n## ", start + 1);
    Matcher row = Pattern.compile("(?m)^\\| `(lockwarden_\\w+)")
        .matcher(doc.substring(start, end < 0 ? doc.length() : end));
    Set<String> names = new TreeSet<>();
    while (row.find()) {
      names.add(row.group(1));
    }
    return names;
  }
}
