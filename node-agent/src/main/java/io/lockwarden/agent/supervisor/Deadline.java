package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The "valid until" of a domain's right to its disks, on the node's CLOCK_MONOTONIC (what {@link System#nanoTime()}
 * reads on Linux, shared by every process of the host). The agent writes it after each lease renewal that confirmed
 * the domain's grants; the supervisor reads it at least every 200 ms. A missing or unreadable file is a deadline in
 * the past: no proof, no right.
 */
public final class Deadline {
  public static final String FILE = "deadline";

  private Deadline() {}

  public static long read(Path runDir) {
    try {
      return Long.parseLong(Files.readString(runDir.resolve(FILE), StandardCharsets.US_ASCII).trim());
    } catch (IOException | NumberFormatException e) {
      return Long.MIN_VALUE;
    }
  }

  /** Written to a temporary file and renamed, so a reader never sees half a number. */
  public static void write(Path runDir, long monotonicNanos) throws IOException {
    Path tmp = runDir.resolve(FILE + ".tmp");
    Files.writeString(tmp, Long.toString(monotonicNanos), StandardCharsets.US_ASCII);
    Files.move(tmp, runDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
