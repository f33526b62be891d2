package io.lockwarden.e2e.libvirt;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs a command to its end, within a deadline, capturing its output. */
public final class Commands {
  /** Readers of stdout and stderr: blocking reads, so never on the common ForkJoin pool. */
  private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "command-output");
    t.setDaemon(true);
    return t;
  });

  private Commands() {}

  /**
   * Runs {@code command} with stdin closed; waits at most {@code deadline}, then kills it and fails with what it printed
   * so far. Every process it leaves behind must have its own stdout and stderr (node.sh's daemons do), or this waits for
   * them too.
   */
  public static Result run(Duration deadline, List<String> command) {
    Process process;
    try {
      process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    }
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(process.getInputStream()), READERS);
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()), READERS);
    long until = System.nanoTime() + deadline.toNanos();
    try {
      if (!process.waitFor(deadline.toNanos(), TimeUnit.NANOSECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(String.join(" ", command) + " did not finish within " + deadline.toMillis()
            + " ms\nstdout: " + out.getNow("") + "\nstderr: " + err.getNow(""));
      }
      long left = Math.max(until - System.nanoTime(), TimeUnit.SECONDS.toNanos(5));
      return new Result(List.copyOf(command), process.exitValue(), out.get(left, TimeUnit.NANOSECONDS),
          err.get(left, TimeUnit.NANOSECONDS));
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running " + command, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError(String.join(" ", command) + " exited, but something it started keeps its output open",
          e);
    }
  }

  private static String drain(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(output lost: " + e + ")";
    }
  }
}
