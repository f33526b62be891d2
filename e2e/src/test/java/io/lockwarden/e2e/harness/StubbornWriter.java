package io.lockwarden.e2e.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The stubborn writer ({@link LocalSystem#STUBBORN}) run straight from a test, with the environment a supervisor would
 * give it: domain ns/{uid}, uid {uid}, node node-{uid}, and fencing tokens from {@code tokens}
 * (LOCKWARDEN_FENCING_TOKENS or LOCKWARDEN_FENCING_TOKENS_FILE). Close kills it with SIGKILL, the only signal it obeys.
 */
public final class StubbornWriter implements AutoCloseable {
  /** Fast rounds, so that tests wait little for records. */
  public static final String INTERVAL = "0.05";
  private final Process process;

  private StubbornWriter(Process process) {
    this.process = process;
  }

  /** Its stdout and stderr go to {@code log}. */
  public static StubbornWriter start(Path log, String uid, Map<String, String> tokens, String... disks) {
    List<String> command = new ArrayList<>(List.of(LocalSystem.STUBBORN.toString(), "--interval", INTERVAL));
    command.addAll(List.of(disks));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(k -> k.startsWith("LOCKWARDEN_")); // nothing of the build's environment decides for it
    env.putAll(Map.of("LOCKWARDEN_DOMAIN_NAMESPACE", "ns", "LOCKWARDEN_DOMAIN_NAME", uid, "LOCKWARDEN_DOMAIN_UID", uid,
        "LOCKWARDEN_NODE_NAME", "node-" + uid));
    env.putAll(tokens);
    try {
      return new StubbornWriter(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** SIGKILL, and waits for the exit; returns the exit status (128 + 9 when the signal ended it). */
  public int kill() {
    process.destroyForcibly();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new AssertionError("stubborn writer pid " + pid() + " still runs 10 s after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for pid " + pid(), e);
    }
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }
}
