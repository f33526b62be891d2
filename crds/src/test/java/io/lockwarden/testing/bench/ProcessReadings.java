package io.lockwarden.testing.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What benchmarks read about a process from /proc, and a JVM's heap from jcmd (no JMX, nothing added to the JVM). */
public final class ProcessReadings {
  private static final Pattern HEAP_USED = Pattern.compile("total (\\d+)K, used (\\d+)K");

  private ProcessReadings() {}

  /** VmRSS from /proc/PID/status in MiB, or NaN if the process is gone. */
  public static double rssMiB(long pid) {
    return statusMiB(pid, "VmRSS");
  }

  /**
   * Pss from /proc/PID/smaps_rollup in MiB, or NaN if the process is gone: its private memory plus its share of what
   * it maps together with other processes (libjvm, a class-data archive), divided among them.
   */
  public static double pssMiB(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
        if (line.startsWith("Pss:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      // gone
    }
    return Double.NaN;
  }

  /** VmHWM from /proc/PID/status: the highest RSS the process ever had, in MiB, or NaN if it is gone. */
  public static double peakRssMiB(long pid) {
    return statusMiB(pid, "VmHWM");
  }

  private static double statusMiB(long pid, String field) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException e) {
      // gone
    }
    return Double.NaN;
  }

  /** utime + stime of a process, in clock ticks (100 per second on Linux). */
  public static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A full collection in a JVM ({@code jcmd PID GC.run}), so that the heap used is what lives. */
  public static void fullGc(long pid) {
    jcmd(pid, "GC.run");
  }

  /**
   * A JVM's heap, {committed MiB, used MiB}, from {@code jcmd PID GC.heap_info} (the attach mechanism; it triggers no
   * collection, so "used" includes garbage not yet collected).
   */
  public static double[] heapMiB(long pid) {
    String out = jcmd(pid, "GC.heap_info");
    // One line for G1's whole heap; one per generation for the serial collector (young, then tenured): their sum.
    Matcher m = HEAP_USED.matcher(out);
    long total = 0;
    long used = 0;
    boolean found = false;
    while (m.find()) {
      found = true;
      total += Long.parseLong(m.group(1));
      used += Long.parseLong(m.group(2));
    }
    if (!found) {
      throw new IllegalStateException("no heap totals in jcmd's answer: " + out);
    }
    return new double[] {total / 1024.0, used / 1024.0};
  }

  private static String jcmd(long pid, String command) {
    String java = ProcessHandle.current().info().command().orElse("java");
    Path jcmd = Path.of(java).resolveSibling("jcmd");
    try {
      Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true)
          .start();
      String out = new String(process.getInputStream().readAllBytes());
      process.waitFor(30, TimeUnit.SECONDS);
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

}
