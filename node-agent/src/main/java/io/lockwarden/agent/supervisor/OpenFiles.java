package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Whether any process of a domain still has a disk open, from /proc: every descriptor of every process, compared by
 * device and inode (so a symlink, a bind mount or another spelling of the path changes nothing), and every memory map.
 * A real VM keeps a disk open after it is removed from its spec; until it closes it, it can still write.
 */
public final class OpenFiles {
  private OpenFiles() {}

  /** "pid P fd N" (or "pid P mmap") for each use of {@code disk} among {@code pids}; empty if none. */
  public static List<String> users(Collection<Long> pids, Path disk) {
    List<String> users = new ArrayList<>();
    Object key;
    try {
      key = Files.readAttributes(disk, "unix:dev,ino");
    } catch (IOException | UnsupportedOperationException e) {
      // Fails closed: without the disk's identity, a process that still has it open cannot be told from one that does
      // not (a deleted file stays writable through an open descriptor). The lock stays until the domain ends.
      users.add("cannot tell who has it open (" + e.getMessage() + ")");
      return users;
    }
    for (long pid : pids) {
      Path fds = Path.of("/proc", Long.toString(pid), "fd");
      try (DirectoryStream<Path> entries = Files.newDirectoryStream(fds)) {
        for (Path fd : entries) {
          try {
            if (key.equals(Files.readAttributes(fd, "unix:dev,ino"))) { // follows the fd's link to the open file
              users.add("pid " + pid + " fd " + fd.getFileName());
            }
          } catch (IOException | RuntimeException e) {
            // closed meanwhile, or a socket or pipe without a file
          }
        }
      } catch (IOException e) {
        continue; // the process is gone
      }
      if (mapped(pid, disk)) {
        users.add("pid " + pid + " mmap");
      }
    }
    return users;
  }

  private static boolean mapped(long pid, Path disk) {
    try {
      String target = disk.toRealPath().toString();
      return Files.readAllLines(Path.of("/proc", Long.toString(pid), "maps")).stream()
          .anyMatch(line -> line.endsWith(" " + target));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
