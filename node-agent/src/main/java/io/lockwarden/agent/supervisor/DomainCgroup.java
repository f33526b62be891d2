package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One cgroup v2 directory per domain: every process of the domain, whatever it forks, setsids or daemonizes into,
 * stays in it (moving out needs write access to a common ancestor, which a domain running as a non-root uid does not
 * have). So "every process of the domain" is {@code cgroup.procs}, "all gone" is {@code populated 0}, and the whole
 * domain can be frozen and killed in one write each. Used by the supervisor, and by the agent when the supervisor is
 * gone.
 */
public final class DomainCgroup {
  private static final String PROCS = "cgroup.procs";
  private static final String EVENTS = "cgroup.events";
  private static final String FREEZE = "cgroup.freeze";
  private static final String KILL = "cgroup.kill";

  private final Path dir;

  public DomainCgroup(Path dir) {
    this.dir = dir;
  }

  /** The cgroup2 mount point of this host, from /proc/self/mountinfo, if there is one. */
  public static Optional<Path> mountPoint() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        // id parent major:minor root mountpoint options ... - fstype source superoptions
        int dash = line.indexOf(" - ");
        if (dash > 0 && line.substring(dash + 3).startsWith("cgroup2 ")) {
          return Optional.of(Path.of(line.split(" ")[4]));
        }
      }
    } catch (IOException | RuntimeException e) {
      // no /proc: no cgroups either
    }
    return Optional.empty();
  }

  public Path dir() {
    return dir;
  }

  public void create() throws IOException {
    Files.createDirectories(dir);
  }

  public boolean exists() {
    return Files.isDirectory(dir);
  }

  /** Moves process {@code pid} (all its threads) into this cgroup. */
  public void enter(long pid) throws IOException {
    Files.writeString(dir.resolve(PROCS), Long.toString(pid));
  }

  /** The cgroup directory process {@code pid} is in now, under {@code mount}. */
  public static Path cgroupOf(long pid, Path mount) throws IOException {
    String path = pathOf(Long.toString(pid));
    if (path == null) {
      throw new IOException("process " + pid + " is in no cgroup v2");
    }
    return mount.resolve(path.replaceFirst("^/", ""));
  }

  /**
   * The cgroup v2 path of {@code process} (a pid, or {@code self}) as /proc/&lt;process&gt;/cgroup says it, relative to
   * the reader's cgroup namespace; null if it has none or cannot be read.
   */
  static String pathOf(String process) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", process, "cgroup"))) {
        if (line.startsWith("0::")) {
          return line.substring(3);
        }
      }
    } catch (IOException e) {
      return null;
    }
    return null;
  }

  /** Every process in the cgroup now; empty if the cgroup does not exist. */
  public List<Long> pids() {
    List<Long> pids = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(dir.resolve(PROCS))) {
        if (!line.isBlank()) {
          pids.add(Long.parseLong(line.strip()));
        }
      }
    } catch (NoSuchFileException e) {
      return pids;
    } catch (IOException | NumberFormatException e) {
      return pids;
    }
    return pids;
  }

  /**
   * Whether any process is left: the kernel's own count, which no pid reuse can fool. Fails closed: only a cgroup that
   * does not exist is empty (it cannot be removed while populated); any other error counts as populated.
   */
  public boolean populated() {
    if (!exists()) {
      return false;
    }
    String populated = event("populated");
    return populated == null || "1".equals(populated);
  }

  /** Stops every process of the domain; see {@link #frozen()} for when it is done. */
  public void freeze() throws IOException {
    Files.writeString(dir.resolve(FREEZE), "1");
  }

  public void thaw() throws IOException {
    if (exists()) {
      Files.writeString(dir.resolve(FREEZE), "0");
    }
  }

  /**
   * Whether every process is frozen, as the kernel says once each has left any system call it was in: a write that
   * was under way has completed by then (into the page cache, or to the device for O_DIRECT).
   */
  public boolean frozen() {
    return "1".equals(event("frozen"));
  }

  /** SIGKILL to every process of the domain, in one write (cgroup.kill, Linux 5.14), else one by one. */
  public void kill() {
    if (!exists()) {
      return;
    }
    try {
      Files.writeString(dir.resolve(KILL), "1");
      return;
    } catch (IOException e) {
      // an older kernel: signal each process; the caller checks populated() and comes back
    }
    for (long pid : pids()) {
      Signals.kill(pid, 9);
    }
  }

  /** Removes the cgroup once it is empty; false if processes are left or it cannot be removed. */
  public boolean remove() {
    try {
      Files.deleteIfExists(dir);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private String event(String key) {
    try {
      for (String line : Files.readAllLines(dir.resolve(EVENTS))) {
        if (line.startsWith(key + " ")) {
          return line.substring(key.length() + 1).strip();
        }
      }
    } catch (IOException e) {
      return null;
    }
    return null;
  }
}
