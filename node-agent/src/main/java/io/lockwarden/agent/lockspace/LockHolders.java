package io.lockwarden.agent.lockspace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * Who holds byte 0 of a file, from /proc/locks, so a LocalLockBusy condition can name the foreign holder. Best effort:
 * /proc/locks shows the pid for classic POSIX locks (virtlockd's), and -1 or the opener for OFD locks.
 */
public final class LockHolders {
  private LockHolders() {}

  public static OptionalLong holderOf(Path file) {
    try {
      long inode = (Long) Files.getAttribute(file, "unix:ino");
      return holderOf(inode, Files.readAllLines(Path.of("/proc/locks")));
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * Lines look like {@code 1: POSIX  ADVISORY  WRITE 4242 fd:01:1234 0 0}: id, kind, mode, access, pid,
   * major:minor:inode, start, end. Blocked waiters ({@code ->}) are skipped.
   */
  static OptionalLong holderOf(long inode, List<String> procLocks) {
    for (String line : procLocks) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 8 || "->".equals(f[1])) {
        continue;
      }
      String[] device = f[5].split(":");
      long pid = Long.parseLong(f[4]);
      if (device.length == 3 && Long.parseLong(device[2]) == inode && "0".equals(f[6]) && pid > 0) {
        return OptionalLong.of(pid);
      }
    }
    return OptionalLong.empty();
  }
}
