package io.lockwarden.testing.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a benchmark hands its results on: Markdown in target/bench/NAME.md, which e2e/bench-lib.sh puts into
 * docs/benchmarks.md under a header with the command, date, machine and commit. Progress lines go to stdout.
 */
public final class BenchReport {
  private BenchReport() {}

  public static void progress(String message) {
    System.out.printf("[bench %tT] %s%n", System.currentTimeMillis(), message);
  }

  /** Writes target/bench/{@code name}.md (relative to the module the benchmark runs in), and prints it. */
  public static void write(String name, String markdown) {
    try {
      Path out = Path.of("target", "bench", name + ".md");
      Files.createDirectories(out.getParent());
      Files.writeString(out, markdown);
      System.out.println(markdown);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
