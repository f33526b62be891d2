package io.lockwarden.e2e.harness;

import io.lockwarden.testing.Await;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A lock taken from outside lockwarden the way virtlockd takes it: a classic POSIX write lock (fcntl F_SETLK) on byte
 * 0, length 1, by another process (python's fcntl.lockf is F_SETLK underneath).
 */
public final class ForeignLock implements AutoCloseable {
  private static final String SCRIPT = String.join("\n",
      "import fcntl, sys, time",
      "f = open(sys.argv[1], 'r+')",
      "try:",
      "    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)",
      "except OSError:",
      "    print('busy', flush=True)",
      "    sys.exit(1)",
      "print('locked', flush=True)",
      "if sys.argv[2] == 'hold':",
      "    time.sleep(3600)");

  private final Process process;

  private ForeignLock(Process process) {
    this.process = process;
  }

  /** Takes and holds the lock; fails the test if it is busy. */
  public static ForeignLock hold(String path) {
    Process process = start(path, "hold");
    String answer = firstLine(process);
    if (!"locked".equals(answer)) {
      process.destroyForcibly();
      throw new AssertionError("a foreign lock on byte 0 of " + path + " was refused: " + answer);
    }
    return new ForeignLock(process);
  }

  /** Whether a foreign process could take the write lock on byte 0 now (it lets go at once). */
  public static boolean canLock(String path) {
    Process process = start(path, "try");
    String answer = firstLine(process);
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return "locked".equals(answer);
  }

  /** Waits until no one holds byte 0 (a foreign write lock can be taken). */
  public static void awaitFree(String path, Duration timeout) {
    Await.until("byte 0 of " + path + " is free", timeout, () -> canLock(path));
  }

  public long pid() {
    return process.pid();
  }

  private static Process start(String path, String mode) {
    try {
      return new ProcessBuilder(List.of("python3", "-c", SCRIPT, path, mode)).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String firstLine(Process process) {
    try {
      return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)).readLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
