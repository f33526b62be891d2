package io.lockwarden.e2e.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The locks the kernel shows on a file in /proc/locks, seen from outside the processes that hold them. */
public final class FileLocks {
  private FileLocks() {}

  /**
   * One lock. {@code kind} is POSIX (classic fcntl, as virtlockd takes), OFDLCK (open file description, as QEMU and
   * lockwarden take; pid -1) or FLOCK; {@code mode} READ or WRITE; {@code end} a byte offset or "EOF".
   */
  public record Lock(String kind, String mode, long pid, long start, String end) {
    public boolean coversByte0() {
      return start == 0;
    }
  }

  /** The granted locks on {@code file} (waiters excluded). */
  public static List<Lock> on(Path file) {
    long dev;
    long ino;
    try {
      dev = (Long) Files.getAttribute(file, "unix:dev");
      ino = (Long) Files.getAttribute(file, "unix:ino");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // glibc's dev_t encoding; /proc/locks prints major and minor in hex.
    long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
    long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
    List<Lock> locks = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
        // "12: POSIX  ADVISORY  WRITE 2253 fe:00:10305745 0 0"; a waiter's line has "->" after the number.
        String[] f = line.trim().split("\\s+");
        if (f.length < 8 || f[1].equals("->")) {
          continue;
        }
        String[] id = f[5].split(":");
        if (id.length == 3 && Long.parseLong(id[0], 16) == major && Long.parseLong(id[1], 16) == minor
            && Long.parseLong(id[2]) == ino) {
          locks.add(new Lock(f[1], f[3], Long.parseLong(f[4]), Long.parseLong(f[6]), f[7]));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return locks;
  }

  /** The locks on byte 0 of {@code file}: where virtlockd (and lockwarden) lock a disk. */
  public static List<Lock> onByte0(Path file) {
    return on(file).stream().filter(Lock::coversByte0).toList();
  }
}
