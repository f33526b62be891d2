package io.lockwarden.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real etcd and kube-apiserver on loopback, with RBAC on and the lockwarden CRDs installed.
 *
 * <p>The binaries are the ones e2e/controlplane/build.sh compiled; kube-api-test runs in offline mode, so a missing
 * binary is an immediate error instead of a download attempt. Start one per test JVM through
 * {@link ControlPlaneExtension}: the API server takes seconds to start, tests isolate themselves by name.
 */
public final class ControlPlane implements AutoCloseable {
  /** The CRDs the crds module generated; the same files the Helm chart and ./local-cluster install. */
  public static final List<String> CRD_RESOURCES = List.of(
      "META-INF/fabric8/diskleases.lockwarden.io-v1.yml",
      "META-INF/fabric8/superviseddomains.lockwarden.io-v1.yml",
      "META-INF/fabric8/quorums.lockwarden.io-v1.yml");

  private static final String DEFAULT_K8S_VERSION = "1.34.4";

  private final KubeAPIServer server;
  private final KubernetesClient admin;

  private ControlPlane(KubeAPIServer server, KubernetesClient admin) {
    this.server = server;
    this.admin = admin;
  }

  public static ControlPlane start() {
    KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
        // From code: kube-api-test's environment-variable switch for booleans throws in 7.x.
        .withOfflineMode(true)
        .withTestDir(toolsDir().toString())
        .withApiServerVersion(System.getProperty("lockwarden.k8s.version", DEFAULT_K8S_VERSION))
        .withUpdateKubeConfig(false)
        .withApiServerFlag("--bind-address", "127.0.0.1")
        .withApiServerFlag("--advertise-address", "127.0.0.1")
        .build());
    server.start();
    KubernetesClient admin = new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(server.getKubeConfigYaml()))
        .build();
    ControlPlane controlPlane = new ControlPlane(server, admin);
    try {
      controlPlane.installCrds();
    } catch (RuntimeException e) {
      controlPlane.close(); // nobody else holds it yet: without this, etcd and the API server outlive the tests
      throw e;
    }
    return controlPlane;
  }

  /** Where build.sh installed the binaries: $LOCKWARDEN_TOOLS_DIR, by default ~/.kubeapitest. */
  static Path toolsDir() {
    String dir = System.getenv("LOCKWARDEN_TOOLS_DIR");
    return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** A client with cluster-admin rights (kube-api-test's certificate is in system:masters). */
  public KubernetesClient admin() {
    return admin;
  }

  /**
   * A client that acts as {@code user} in {@code groups}, through impersonation: every request is authorized by RBAC
   * as that identity, exactly as for a real user or service account.
   */
  public KubernetesClient clientAs(String user, String... groups) {
    Config config = Config.fromKubeconfig(server.getKubeConfigYaml());
    config.setImpersonateUsername(user);
    config.setImpersonateGroups(groups);
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /** The kubeconfig of the admin identity, for processes (operator, agents) started by tests. */
  public String kubeconfigYaml() {
    return server.getKubeConfigYaml();
  }

  /**
   * Lets a test kill and restart etcd and kube-apiserver itself (the chaos run does). kube-api-test takes an exit of
   * either that it did not ask for as the end of the control plane: it stops the other one and deletes etcd's data,
   * so a restarted etcd would find nothing. This disarms those two exit watchers (private fields of kube-api-test
   * 7.5.2, reached by reflection: it has no switch for this). The caller then owns stopping both processes;
   * {@link #close()} still deletes etcd's data.
   */
  public void allowRestarts() {
    for (String field : List.of("etcdProcess", "kubeApiServerProcess")) {
      try {
        Field process = KubeAPIServer.class.getDeclaredField(field);
        process.setAccessible(true);
        Object watched = process.get(server);
        Field stopped = watched.getClass().getDeclaredField("stopped");
        stopped.setAccessible(true);
        stopped.setBoolean(watched, true);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("kube-api-test changed: cannot disarm its watcher of " + field, e);
      }
    }
  }

  private void installCrds() {
    for (String resource : CRD_RESOURCES) {
      CustomResourceDefinition crd;
      try (InputStream in = ControlPlane.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("generated CRD " + resource + " is not on the classpath: build the crds module");
        }
        crd = admin.apiextensions().v1().customResourceDefinitions().load(in).item();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      admin.resource(crd).serverSideApply();
      admin.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
          .waitUntilCondition(ControlPlane::established, Duration.ofSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private static boolean established(CustomResourceDefinition crd) {
    return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
        && crd.getStatus().getConditions().stream()
        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  @Override
  public void close() {
    admin.close();
    server.stop();
  }
}
