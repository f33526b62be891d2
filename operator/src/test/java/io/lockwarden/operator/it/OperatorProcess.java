package io.lockwarden.operator.it;

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
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The operator as a real OS process (target/classes plus target/lib), started against the test control plane, so
 * tests can SIGKILL it mid-work and run two at once.
 */
public final class OperatorProcess implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("event=started metricsPort=(\\d+)");

  private final Process process;
  private final Path log;
  private final int metricsPort;

  private OperatorProcess(Process process, Path log, int metricsPort) {
    this.process = process;
    this.log = log;
    this.metricsPort = metricsPort;
  }

  /** Starts an operator and waits, up to 60 s, for it to serve its endpoints. */
  public static OperatorProcess start(ControlPlane controlPlane, String name, String namespace, Map<String, String> env) {
    try {
      Path dir = Files.createDirectories(Path.of("target", "operator-logs"));
      Path kubeconfig = dir.resolve(name + ".kubeconfig");
      Files.writeString(kubeconfig, controlPlane.kubeconfigYaml());
      Path log = dir.resolve(name + ".log");
      String java = ProcessHandle.current().info().command().orElse("java");
      ProcessBuilder builder = new ProcessBuilder(java, "-Xmx512m", "-cp", "target/classes:target/lib/*",
          "io.lockwarden.operator.OperatorMain")
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
      Map<String, String> environment = new HashMap<>(Map.of(
          "KUBECONFIG", kubeconfig.toAbsolutePath().toString(),
          "LOCKWARDEN_NAMESPACE", namespace,
          "LOCKWARDEN_METRICS_PORT", "0",
          "LOCKWARDEN_METRICS_ADDRESS", "127.0.0.1",
          "LOCKWARDEN_IDENTITY", name));
      environment.putAll(env);
      builder.environment().putAll(environment);
      Process process = builder.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        Matcher started = STARTED.matcher(Files.exists(log) ? Files.readString(log) : "");
        int port = -1;
        while (started.find()) {
          port = Integer.parseInt(started.group(1));
        }
        if (port > 0 && process.isAlive()) {
          return new OperatorProcess(process, log, port);
        }
        if (!process.isAlive()) {
          throw new IllegalStateException("operator " + name + " exited with " + process.exitValue() + "; see " + log);
        }
        Thread.sleep(50);
      }
      process.destroyForcibly();
      throw new IllegalStateException("operator " + name + " did not start within 60 s; see " + log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public long pid() {
    return process.pid();
  }

  /** SIGKILL, as a crash or an OOM kill would: no shutdown hook runs. */
  public void kill() {
    process.destroyForcibly();
    waitForExit();
  }

  public String get(String path) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void waitForExit() {
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    process.destroy();
    waitForExit();
    if (process.isAlive()) {
      kill();
    }
  }
}
