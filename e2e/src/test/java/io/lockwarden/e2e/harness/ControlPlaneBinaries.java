package io.lockwarden.e2e.harness;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the project's own scripts install what the tests run: $LOCKWARDEN_TOOLS_DIR (default ~/.kubeapitest, where
 * kube-api-test looks), with the control plane e2e/controlplane/build.sh compiles under k8s/&lt;version&gt;-linux-amd64.
 */
public final class ControlPlaneBinaries {
  private ControlPlaneBinaries() {}

  public static Path toolsDir() {
    String dir = System.getenv("LOCKWARDEN_TOOLS_DIR");
    return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".kubeapitest");
  }

  /** One of the binaries build.sh builds (etcd, kube-apiserver, kube-controller-manager, kubectl), which must exist. */
  public static Path kubernetes(String name) {
    String version = System.getProperty("lockwarden.k8s.version", "1.34.4");
    return installed(toolsDir().resolve("k8s/" + version + "-linux-amd64/" + name), "e2e/controlplane/build.sh");
  }

  /** {@code path}, if executable; else a message naming the script that installs it. */
  public static Path installed(Path path, String installer) {
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException(path + " is missing: run " + installer + " (mvn verify runs it)");
    }
    return path;
  }
}
