package io.lockwarden.agent.lockspace;

import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;

/**
 * A separate process taking a classic POSIX fcntl lock the way virtlockd does (the JDK's FileChannel locks are classic
 * F_SETLK locks on Linux). Usage: {@code hold <file> <byte>}: lock for writing, print "locked", hold until stdin closes;
 * {@code try <file> <byte>}: try once, exit 0 if it got the lock, 3 if it was refused.
 */
public final class ForeignPosixLocker {
  private ForeignPosixLocker() {}

  public static void main(String[] args) throws Exception {
    try (RandomAccessFile file = new RandomAccessFile(args[1], "rw"); FileChannel channel = file.getChannel()) {
      FileLock lock = channel.tryLock(Long.parseLong(args[2]), 1, false);
      if ("try".equals(args[0])) {
        System.exit(lock == null ? 3 : 0);
      }
      if (lock == null) {
        System.out.println("refused");
        System.exit(3);
      }
      System.out.println("locked");
      System.out.flush();
      while (System.in.read() != -1) {
        // hold until the parent closes our stdin
      }
    }
  }
}
