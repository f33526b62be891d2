package io.lockwarden.e2e.chart;

import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** kubectl against the test control plane, as an administrator would run it. */
final class Kubectl {
  private final Path kubeconfig;

  private Kubectl(Path kubeconfig) {
    this.kubeconfig = kubeconfig;
  }

  static Kubectl of(ControlPlane controlPlane) {
    try {
      Path dir = Files.createDirectories(Path.of("target", "chart-tests"));
      Path file = dir.resolve("admin.kubeconfig");
      Files.writeString(file, controlPlane.kubeconfigYaml());
      return new Kubectl(file.toAbsolutePath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Tools.Result run(String stdin, String... args) {
    List<String> argv = new ArrayList<>(List.of(Tools.kubectl().toString(), "--kubeconfig", kubeconfig.toString()));
    argv.addAll(List.of(args));
    return Tools.run(Tools.repoRoot(), stdin, argv);
  }

  /** `kubectl apply --server-side` of a multi-document YAML, for real. */
  String apply(String yaml) {
    return run(yaml, "apply", "--server-side", "--force-conflicts", "--field-manager=chart-test", "-f", "-").expectOk();
  }

  /**
   * `kubectl apply --server-side --dry-run=server`: every admission step runs, nothing is stored. Conflicts are forced
   * because objects the test fixture installed (the CRDs) have another field manager.
   */
  Tools.Result dryRun(String yaml) {
    return run(yaml, "apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=chart-test",
        "-f", "-");
  }
}
