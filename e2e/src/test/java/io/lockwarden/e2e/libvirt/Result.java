package io.lockwarden.e2e.libvirt;

import java.util.List;

/** A finished command: its exit code and everything it printed. */
public record Result(List<String> command, int exitCode, String stdout, String stderr) {
  public boolean ok() {
    return exitCode == 0;
  }

  /** This result if the command succeeded; otherwise an AssertionError naming the command and what it printed. */
  public Result orThrow() {
    if (!ok()) {
      throw new AssertionError(this.toString());
    }
    return this;
  }

  @Override
  public String toString() {
    return String.join(" ", command) + " -> exit " + exitCode + (stdout.isBlank() ? "" : "\nstdout: " + stdout.strip())
        + (stderr.isBlank() ? "" : "\nstderr: " + stderr.strip());
  }
}
