package io.lockwarden.e2e.chart;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static io.lockwarden.testing.TestObjects.domain;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The chart's identities, RBAC and admission policies, rendered by `helm template` and applied to the shared control
 * plane once per test JVM, as `helm install lockwarden -n <namespace>` would. Nothing else of the chart (no
 * Deployment runs here: there is no controller-manager and no kubelet).
 */
final class ChartInstall {
  static final String RELEASE = "lockwarden";
  static final String OPERATOR_SA = "lockwarden-operator";
  static final String AGENT_SA = "lockwarden-agent";
  /** The certificate identities ./local-cluster gives its components. */
  static final String OPERATOR_USER = "lockwarden:operator";
  static final String AGENT_GROUP = "lockwarden:agents";
  static final String NODE_CLAIM = "authentication.kubernetes.io/node-name";

  private static ChartInstall installed;

  final ControlPlane controlPlane;
  /** The release namespace: node Leases, path claims and the leader Lease live here. */
  final String namespace;

  private ChartInstall(ControlPlane controlPlane, String namespace) {
    this.controlPlane = controlPlane;
    this.namespace = namespace;
  }

  static synchronized ChartInstall rbacAndPolicies(ControlPlane controlPlane) {
    if (installed == null) {
      String namespace = createNamespace(controlPlane.admin(), "lockwarden-system");
      String yaml = Chart.release(RELEASE, namespace)
          .set("rbac.operatorUsers", "{" + OPERATOR_USER + "}")
          .set("rbac.bindAgentGroup", "true")
          .showOnly("templates/serviceaccounts.yaml", "templates/rbac-operator.yaml", "templates/rbac-agent.yaml",
              "templates/rbac-users.yaml", "templates/admission-policies.yaml")
          .render();
      Kubectl.of(controlPlane).apply(yaml);
      installed = new ChartInstall(controlPlane, namespace);
      installed.awaitPoliciesInForce();
    }
    return installed;
  }

  /** A certificate identity of the agent of {@code node}, as ./local-cluster issues one per agent. */
  KubernetesClient agentCertificate(String node) {
    return controlPlane.clientAs("lockwarden:agent:" + node, AGENT_GROUP, "system:authenticated");
  }

  /** The agent's service account as a pod-bound token presents it: with the node-name claim, if node is not null. */
  KubernetesClient agentServiceAccount(String node) {
    return serviceAccount(AGENT_SA, node == null ? Map.of() : Map.of(NODE_CLAIM, List.of(node)));
  }

  KubernetesClient operatorServiceAccount() {
    return serviceAccount(OPERATOR_SA, Map.of());
  }

  KubernetesClient operatorCertificate() {
    return controlPlane.clientAs(OPERATOR_USER, "system:authenticated");
  }

  /** The identity the API server gives a service account's token: user, groups, and the token's extra claims. */
  private KubernetesClient serviceAccount(String name, Map<String, List<String>> extra) {
    KubernetesClient client = controlPlane.clientAs("system:serviceaccount:" + namespace + ":" + name,
        "system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated");
    // Impersonate-Extra-<key>: the key travels percent-encoded in the header name, the API server decodes it.
    Map<String, List<String>> encoded = new java.util.HashMap<>();
    extra.forEach((k, v) -> encoded.put(k.replace("/", "%2F"), v));
    client.getConfiguration().setImpersonateExtras(encoded);
    return client;
  }

  /**
   * Policies take effect once the API server's policy informers have them; until then writes they refuse go through.
   * Probe each with a dry run (admission runs, nothing is stored) that it must refuse.
   */
  private void awaitPoliciesInForce() {
    KubernetesClient admin = controlPlane.admin();
    String probeNamespace = createNamespace(admin, "policy-probe");
    SupervisedDomain probe = admin.resource(domain(probeNamespace, "probe", "node-probe")).create();
    try (KubernetesClient agent = agentCertificate("probe-a"); KubernetesClient operator = operatorCertificate()) {
      Lease foreign = new LeaseBuilder()
          .withMetadata(new ObjectMetaBuilder().withName("lockwarden-node-probe-b").withNamespace(namespace).build())
          .withNewSpec().withHolderIdentity("probe-b").endSpec().build();
      Await.until("the lease-writes policy refuses an agent another node's Lease", Duration.ofSeconds(30),
          () -> refused(() -> agent.resource(foreign).dryRun().create()));
      ConfigMap other = new ConfigMapBuilder().withNewMetadata().withName("policy-probe").withNamespace(namespace)
          .endMetadata().build();
      Await.until("the timing-writes policy refuses the operator another ConfigMap", Duration.ofSeconds(30),
          () -> refused(() -> operator.resource(other).dryRun().create()));
      Await.until("the domain-writes policy refuses the operator a spec change", Duration.ofSeconds(30),
          () -> refused(() -> operator.resources(SupervisedDomain.class).inNamespace(probeNamespace).withName("probe")
              .dryRun().edit(d -> {
                d.getSpec().running = false;
                return d;
              })));
    }
    admin.resource(probe).delete();
  }

  private static boolean refused(Runnable write) {
    try {
      write.run();
      return false;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 403 && e.getMessage().contains("ValidatingAdmissionPolicy")) {
        return true;
      }
      throw e;
    }
  }
}
