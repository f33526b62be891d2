package io.lockwarden.e2e.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A lockwarden component (operator or agent) as a real OS process, run from its module's packaged jar and
 * target/lib, so tests can SIGKILL, SIGSTOP and SIGCONT it as a crash or a hung node would.
 */
public final class JavaProcess implements AutoCloseable {
  private static final Pattern STARTED = Pattern.compile("event=started .*metricsPort=(\\d+)");

  private final String name;
  private final Process process;
  private final Path log;
  private final int metricsPort;

  private JavaProcess(String name, Process process, Path log, int metricsPort) {
    this.name = name;
    this.process = process;
    this.log = log;
    this.metricsPort = metricsPort;
  }

  /**
   * The module's packaged jar, as in an image: a class path of jars only, which the agent's supervisors can have a
   * class-data archive for (a directory on it rules one out).
   */
  private static Path moduleJar(Path moduleDir) throws IOException {
    try (var jars = Files.list(moduleDir.resolve("target"))) {
      return jars.filter(p -> p.getFileName().toString().matches("lockwarden-.*-SNAPSHOT\\.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no jar in " + moduleDir.resolve("target")
              + ": package the module first (mvn verify does)"));
    }
  }

  /**
   * Starts {@code mainClass} of module {@code module} (a sibling directory of e2e) and waits, up to 60 s, for its
   * "event=started ... metricsPort=N" line.
   */
  public static JavaProcess start(String module, String mainClass, String name, Map<String, String> env,
      List<String> args) {
    return start(module, mainClass, name, env, args, List.of());
  }

  /**
   * The same, run through {@code prefix} (say, nsenter into a node's mount namespace), which must exec the JVM in
   * place, so that the process's pid is the JVM's.
   */
  public static JavaProcess start(String module, String mainClass, String name, Map<String, String> env,
      List<String> args, List<String> prefix) {
    try {
      Path moduleDir = Path.of("..", module).toAbsolutePath().normalize();
      Path dir = Files.createDirectories(Path.of("target", "process-logs"));
      Path log = dir.resolve(name + ".log");
      List<String> command = new ArrayList<>(prefix);
      command.addAll(List.of(ProcessHandle.current().info().command().orElse("java"),
          "-Xmx256m", "-XX:+UseSerialGC", "-cp", moduleJar(moduleDir) + ":" + moduleDir.resolve("target/lib") + "/*",
          mainClass));
      command.addAll(args);
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      builder.environment().putAll(env);
      long offset = Files.exists(log) ? Files.size(log) : 0;
      Process process = builder.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        String text = Files.exists(log) ? Files.readString(log) : "";
        Matcher started = STARTED.matcher(text.length() > offset ? text.substring((int) offset) : "");
        if (started.find() && process.isAlive()) {
          return new JavaProcess(name, process, log, Integer.parseInt(started.group(1)));
        }
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + log.toAbsolutePath());
        }
        Thread.sleep(50);
      }
      process.destroyForcibly();
      throw new IllegalStateException(name + " did not start within 60 s; see " + log.toAbsolutePath());
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

  public boolean isAlive() {
    return process.isAlive();
  }

  /** SIGKILL, as a crash, an OOM kill or a power-off would: no shutdown hook runs. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGSTOP: the process hangs, as a node cut off or frozen would look. */
  public void freeze() {
    Signals.send("STOP", pid());
  }

  /** SIGCONT. */
  public void thaw() {
    Signals.send("CONT", pid());
  }

  /** GET on its metrics port: "code body". */
  public String get(String path) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path)).timeout(Duration.ofSeconds(10))
              .build(), HttpResponse.BodyHandlers.ofString());
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

  @Override
  public void close() {
    thaw(); // a frozen process cannot run its shutdown hook
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        kill();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return name + "(pid " + pid() + ")";
  }
}
