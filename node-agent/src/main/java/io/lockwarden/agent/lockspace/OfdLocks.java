package io.lockwarden.agent.lockspace;

import java.io.IOException;
import java.nio.file.Path;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/**
 * Open-file-description (OFD) fcntl locks on byte 0, length 1, through jnr-ffi.
 *
 * <p>Why OFD and not classic POSIX locks: a classic lock belongs to the process and is dropped when the process closes
 * <em>any</em> descriptor of the file, which a JVM (or a library in it) can do behind our back. An OFD lock belongs to
 * the open file description: it lives exactly as long as some descriptor of that description is open, in this process
 * or in a child that inherited it. OFD and classic locks on the same bytes conflict with each other, so a virtlockd
 * holder (classic F_SETLK on byte 0) and lockwarden exclude each other.
 */
public final class OfdLocks {
  // Linux x86-64 values (asm-generic/fcntl.h).
  private static final int F_OFD_GETLK = 36;
  private static final int F_OFD_SETLK = 37;
  private static final short F_RDLCK = 0;
  private static final short F_WRLCK = 1;
  private static final short F_UNLCK = 2;
  private static final short SEEK_SET = 0;
  private static final int O_RDWR = 2;
  private static final int O_RDONLY = 0;
  private static final int O_CLOEXEC = 0x80000;
  /** struct flock on x86-64: short l_type, short l_whence, (pad), off_t l_start @8, off_t l_len @16, pid_t l_pid @24. */
  private static final int FLOCK_SIZE = 32;
  private static final int EAGAIN = 11;
  private static final int EACCES = 13;

  /** The one libc call jnr-posix does not cover: fcntl with a struct flock. */
  public interface LibC {
    int fcntl(int fd, int cmd, Pointer flock);
  }

  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();
  private static final LibC LIBC = LibraryLoader.create(LibC.class).load("c");
  private static final Runtime RUNTIME = Runtime.getRuntime(LIBC);

  private OfdLocks() {}

  /**
   * Takes the lock on byte 0 of {@code file} without waiting.
   *
   * @return the held lock, or null if someone else holds a conflicting lock
   * @throws IOException if the file cannot be opened or locked for another reason
   */
  public static HeldLock tryLock(Path file, LockMode mode) throws IOException {
    // A read lock needs only read access, a write lock write access; CLOEXEC keeps the fd out of children we do not
    // hand it to on purpose.
    int flags = (mode == LockMode.WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    int fd = POSIX_CALLS.open(file.toString(), flags, 0);
    if (fd < 0) {
      throw new IOException("cannot open " + file + " to lock it: errno " + POSIX_CALLS.errno());
    }
    Pointer flock = flock(mode == LockMode.WRITE ? F_WRLCK : F_RDLCK);
    if (LIBC.fcntl(fd, F_OFD_SETLK, flock) == 0) {
      return new HeldLock(fd);
    }
    int errno = POSIX_CALLS.errno();
    POSIX_CALLS.close(fd);
    if (errno == EAGAIN || errno == EACCES) {
      return null;
    }
    throw new IOException("cannot lock byte 0 of " + file + ": errno " + errno);
  }

  /** Whether a lock of {@code mode} on byte 0 of {@code file} would be refused now; takes nothing. */
  public static boolean isBusy(Path file, LockMode mode) throws IOException {
    int fd = POSIX_CALLS.open(file.toString(), O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
      throw new IOException("cannot open " + file + ": errno " + POSIX_CALLS.errno());
    }
    try {
      Pointer flock = flock(mode == LockMode.WRITE ? F_WRLCK : F_RDLCK);
      if (LIBC.fcntl(fd, F_OFD_GETLK, flock) != 0) {
        throw new IOException("cannot query the lock on " + file + ": errno " + POSIX_CALLS.errno());
      }
      return flock.getShort(0) != F_UNLCK;
    } finally {
      POSIX_CALLS.close(fd);
    }
  }

  private static Pointer flock(short type) {
    Pointer flock = Memory.allocateDirect(RUNTIME, FLOCK_SIZE, true);
    flock.putShort(0, type);
    flock.putShort(2, SEEK_SET);
    flock.putLong(8, 0); // l_start: byte 0
    flock.putLong(16, 1); // l_len: one byte, as virtlockd
    flock.putInt(24, 0); // l_pid must be 0 for OFD locks
    return flock;
  }

  /** A held OFD lock; closing the descriptor releases it (unless a child holds a copy). */
  public static final class HeldLock implements AutoCloseable {
    private final int fd;
    private boolean open = true;

    HeldLock(int fd) {
      this.fd = fd;
    }

    /** The descriptor, for handing to a child process that must keep the lock as long as it lives. */
    public int fd() {
      return fd;
    }

    /**
     * Drops the lock itself, then closes: an OFD lock belongs to the open file description, so unlocking through this
     * descriptor also frees it for a child holding a copy. What hot-unplug needs (the seed's ReleaseResource).
     */
    public synchronized void release() {
      if (open) {
        LIBC.fcntl(fd, F_OFD_SETLK, flock(F_UNLCK));
      }
      close();
    }

    @Override
    public synchronized void close() {
      if (open) {
        POSIX_CALLS.close(fd);
        open = false;
      }
    }
  }
}
