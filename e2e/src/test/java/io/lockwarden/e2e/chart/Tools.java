package io.lockwarden.e2e.chart;

import io.lockwarden.e2e.harness.ControlPlaneBinaries;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The command-line tools the chart tests run, as a user would: helm and promtool (e2e/controlplane/tools.sh) and
 * kubectl (e2e/controlplane/build.sh), all under $LOCKWARDEN_TOOLS_DIR (default ~/.kubeapitest).
 */
final class Tools {
  private Tools() {}

  /** The repository's root: the chart, the examples and helm/tests live there. */
  static Path repoRoot() {
    String root = System.getProperty("lockwarden.repo.root");
    return (root != null ? Path.of(root) : Path.of("..")).toAbsolutePath().normalize();
  }

  static Path chartDir() {
    return repoRoot().resolve("helm/lockwarden");
  }

  static Path helm() {
    return ControlPlaneBinaries.installed(ControlPlaneBinaries.toolsDir().resolve("tools/bin/helm"),
        "e2e/controlplane/tools.sh");
  }

  static Path promtool() {
    return ControlPlaneBinaries.installed(ControlPlaneBinaries.toolsDir().resolve("tools/bin/promtool"),
        "e2e/controlplane/tools.sh");
  }

  static Path kubectl() {
    return ControlPlaneBinaries.kubernetes("kubectl");
  }

  /** What a finished command said. */
  record Result(List<String> command, int exitCode, String out, String err) {
    boolean ok() {
      return exitCode == 0;
    }

    /** For assertion messages: the command and everything it printed. */
    String describe() {
      return String.join(" ", command) + "\nexit " + exitCode + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
    }

    /** The output of a command that had to succeed. */
    String expectOk() {
      if (!ok()) {
        throw new AssertionError("command failed: " + describe());
      }
      return out;
    }
  }

  static Result run(Path dir, String stdin, List<String> command) {
    try {
      Process process = new ProcessBuilder(command).directory(dir.toFile()).start();
      CompletableFuture<String> out = drain(process.getInputStream());
      CompletableFuture<String> err = drain(process.getErrorStream());
      try (OutputStream in = process.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("still running after 120 s: " + String.join(" ", command));
      }
      return new Result(command, process.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: " + String.join(" ", command), e);
    }
  }

  static Result run(Path dir, String stdin, Object... command) {
    List<String> argv = new ArrayList<>();
    for (Object arg : command) {
      argv.add(arg.toString());
    }
    return run(dir, stdin, argv);
  }

  private static CompletableFuture<String> drain(InputStream stream) {
    return CompletableFuture.supplyAsync(() -> {
      try (InputStream in = stream) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        in.transferTo(bytes);
        return bytes.toString(StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }
}
