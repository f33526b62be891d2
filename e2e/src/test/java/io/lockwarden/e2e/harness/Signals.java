package io.lockwarden.e2e.harness;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** kill(1), for processes the test did not start itself (supervisors, domains). */
public final class Signals {
  private Signals() {}

  /** Sends SIG{@code name} to {@code pid}; false if there is no such process. */
  public static boolean send(String name, long pid) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).redirectErrorStream(true).start();
      kill.getInputStream().readAllBytes();
      return kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(p -> p.isAlive() && !"Z".equals(state(pid))).orElse(false);
  }

  /**
   * Whether the process is stopped: SIGSTOPped (state T), or frozen in its domain's cgroup, which is how a supervisor
   * pauses and holds every process of a domain where the host has cgroup v2 (a frozen process shows S).
   */
  public static boolean stopped(long pid) {
    if ("T".equals(state(pid))) {
      return true;
    }
    try {
      String cgroup = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", Long.toString(pid), "cgroup"))
          .stream().filter(l -> l.startsWith("0::")).map(l -> l.substring(3)).findFirst().orElse(null);
      java.nio.file.Path mount = io.lockwarden.agent.supervisor.DomainCgroup.mountPoint().orElse(null);
      if (cgroup == null || mount == null || "/".equals(cgroup)) {
        return false;
      }
      return new io.lockwarden.agent.supervisor.DomainCgroup(mount.resolve(cgroup.substring(1))).frozen();
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** The process state letter from /proc/pid/stat (R, S, T for stopped, Z), or null. */
  public static String state(long pid) {
    try {
      String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "stat"));
      return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
