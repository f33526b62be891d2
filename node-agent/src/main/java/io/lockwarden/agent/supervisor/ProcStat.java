package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads /proc/PID/stat: the start time tells a process from a later one that reuses its pid. */
public final class ProcStat {
  private ProcStat() {}

  /** Field 22 (starttime, in clock ticks since boot), or null if the process does not exist. */
  public static String startTime(long pid) {
    return field(pid, 22);
  }

  /** Field 3: R, S, T (stopped), Z, ... or null if the process does not exist. */
  public static String state(long pid) {
    return field(pid, 3);
  }

  /** Field 4: the parent's pid, or null if the process does not exist. */
  public static String parentOf(long pid) {
    return field(pid, 4);
  }

  /**
   * Whether the process with this pid and start time may still run code: it exists, and it is not a zombie whose
   * threads are all gone (a thread-group leader that exited shows Z while its other threads, an I/O thread say, run
   * on and can still write).
   */
  public static boolean runs(long pid, String startTime) {
    if (startTime == null || !startTime.equals(startTime(pid))) {
      return false;
    }
    if (!"Z".equals(state(pid))) {
      return true;
    }
    try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      return tasks.count() > 1;
    } catch (IOException e) {
      return false; // gone altogether
    }
  }

  /** Field 3 of a stat file, for a thread's /proc/PID/task/TID/stat. */
  static String stateOf(Path statFile) {
    return field(statFile, 3);
  }

  private static String field(long pid, int number) {
    return field(Path.of("/proc", Long.toString(pid), "stat"), number);
  }

  private static String field(Path statFile, int number) {
    try {
      String stat = Files.readString(statFile);
      // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
      String[] rest = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return rest[number - 3];
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
