package io.lockwarden.e2e.harness;

import io.fabric8.kubernetes.client.Config;
import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The pinned kube-controller-manager (e2e/controlplane/build.sh builds it beside kube-apiserver) against a test's
 * control plane, with only the controllers a test names, under the identity ./local-cluster gives it: the built-in
 * system:kube-controller-manager (here by impersonation from the admin credentials), each controller as its own
 * service account. The shared control plane of the other test classes runs without one, so this is started and
 * stopped by the one class that needs it.
 */
public final class ControllerManager implements AutoCloseable {
  private final Process process;
  public final Path log;

  private ControllerManager(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** @param controllers kube-controller-manager's names, e.g. namespace-controller */
  public static ControllerManager start(ControlPlane controlPlane, String name, List<String> controllers) {
    try {
      Path dir = Files.createDirectories(Path.of("target", "process-logs").toAbsolutePath());
      Path kubeconfig = dir.resolve(name + ".kubeconfig");
      Files.writeString(kubeconfig, kubeconfig(Config.fromKubeconfig(controlPlane.kubeconfigYaml())));
      Files.setPosixFilePermissions(kubeconfig, PosixFilePermissions.fromString("rw-------"));
      Path log = dir.resolve(name + ".log");
      Process process = new ProcessBuilder(ControlPlaneBinaries.kubernetes("kube-controller-manager").toString(),
          "--kubeconfig=" + kubeconfig,
          "--controllers=" + String.join(",", controllers),
          "--use-service-account-credentials=true",
          "--leader-elect=false",
          // No serving port: nothing here reads its /healthz, and two test runs must not meet on a port.
          "--secure-port=0")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
      return new ControllerManager(process, log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The admin's credentials, acting as system:kube-controller-manager (kubeconfig's "as"). */
  private static String kubeconfig(Config admin) {
    return String.join("\n",
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: test",
        "  cluster:",
        "    server: " + admin.getMasterUrl(),
        "    " + pem("certificate-authority", admin.getCaCertData(), admin.getCaCertFile()),
        "users:",
        "- name: kube-controller-manager",
        "  user:",
        "    " + pem("client-certificate", admin.getClientCertData(), admin.getClientCertFile()),
        "    " + pem("client-key", admin.getClientKeyData(), admin.getClientKeyFile()),
        "    as: system:kube-controller-manager",
        "    as-groups: [system:authenticated]",
        "contexts:",
        "- name: test",
        "  context: {cluster: test, user: kube-controller-manager}",
        "current-context: test",
        "");
  }

  /** A kubeconfig field from inline base64 data or a file, whichever the admin config has. */
  private static String pem(String field, String data, String file) {
    if (data != null && !data.isBlank()) {
      return field + "-data: " + data;
    }
    if (file != null && !file.isBlank()) {
      return field + ": " + file;
    }
    throw new IllegalStateException("the admin kubeconfig has no " + field);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
