package io.lockwarden.e2e.chart;

import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The real operator (operator/target/classes and target/lib, as its image holds them) as an OS process, talking to the
 * test control plane as the identity the chart gives it: its service account, through impersonation set in the
 * environment (KUBERNETES_IMPERSONATE_USERNAME/GROUP, which the fabric8 client reads like any kubeconfig setting).
 */
final class OperatorProcess implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("event=started metricsPort=(\\d+)");

  private final Process process;
  private final Path log;
  private final int port;

  private OperatorProcess(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  static OperatorProcess startAs(ControlPlane controlPlane, String user, String groups, Map<String, String> env) {
    try {
      Path dir = Files.createDirectories(Path.of("target", "chart-tests")).toAbsolutePath();
      Path kubeconfig = dir.resolve("operator.kubeconfig");
      Files.writeString(kubeconfig, controlPlane.kubeconfigYaml());
      Path log = dir.resolve("operator.log");
      Path operator = Tools.repoRoot().resolve("operator/target");
      String java = ProcessHandle.current().info().command().orElse("java");
      ProcessBuilder builder = new ProcessBuilder(java, "-Xmx384m", "-cp",
          operator.resolve("classes") + ":" + operator.resolve("lib") + "/*", "io.lockwarden.operator.OperatorMain")
          .redirectErrorStream(true).redirectOutput(log.toFile());
      builder.environment().putAll(Map.of(
          "KUBECONFIG", kubeconfig.toString(),
          "KUBERNETES_IMPERSONATE_USERNAME", user,
          "KUBERNETES_IMPERSONATE_GROUP", groups,
          "LOCKWARDEN_METRICS_PORT", "0",
          "LOCKWARDEN_METRICS_ADDRESS", "127.0.0.1"));
      builder.environment().putAll(env);
      Process process = builder.start();
      int port = Await.value("the operator serving its endpoints (log: " + log + ")", Duration.ofSeconds(60), () -> {
        if (!process.isAlive()) {
          throw new AssertionError("the operator exited with " + process.exitValue() + "; see " + log);
        }
        Matcher started = STARTED.matcher(read(log));
        return started.find() ? Integer.valueOf(started.group(1)) : null;
      });
      return new OperatorProcess(process, log, port);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String log() {
    return read(log);
  }

  /** GET on the metrics port: status and body. */
  HttpResponse<String> get(String path) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** SIGTERM, as a pod's termination sends it: a leader-elected operator must stop cleanly and exit on its own. */
  @Override
  public void close() {
    try {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        throw new AssertionError("the operator did not exit within 30 s of SIGTERM; see its log");
      }
      if (read(log).contains("event=stop-incomplete")) {
        throw new AssertionError("the leader-elected operator did not stop cleanly on SIGTERM; see " + log);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
