package io.lockwarden.agent.lockspace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real files, real locks, real foreign processes: the lock conventions lockwarden shares with virtlockd. */
class OfdLocksTest {
  @TempDir
  Path dir;

  @Test
  void aWriteLockExcludesEveryOtherLockUntilClosed() throws IOException {
    Path disk = Files.createFile(dir.resolve("vm.img"));
    try (OfdLocks.HeldLock held = OfdLocks.tryLock(disk, LockMode.WRITE)) {
      assertThat(held).isNotNull();
      assertThat(OfdLocks.tryLock(disk, LockMode.WRITE)).isNull();
      assertThat(OfdLocks.tryLock(disk, LockMode.READ)).isNull();
      assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();
    }
    try (OfdLocks.HeldLock again = OfdLocks.tryLock(disk, LockMode.WRITE)) {
      assertThat(again).as("free again once closed").isNotNull();
    }
  }

  @Test
  void readLocksShareAndKeepWritersOut() throws IOException {
    Path disk = Files.createFile(dir.resolve("shared.img"));
    try (OfdLocks.HeldLock first = OfdLocks.tryLock(disk, LockMode.READ);
        OfdLocks.HeldLock second = OfdLocks.tryLock(disk, LockMode.READ)) {
      assertThat(first).isNotNull();
      assertThat(second).isNotNull();
      assertThat(OfdLocks.tryLock(disk, LockMode.WRITE)).isNull();
    }
  }

  @Test
  void closingAnotherDescriptorOfTheFileKeepsTheLock() throws Exception {
    Path disk = Files.createFile(dir.resolve("trap.img"));
    try (OfdLocks.HeldLock held = OfdLocks.tryLock(disk, LockMode.WRITE)) {
      // The classic-lock trap: closing any descriptor of the file drops a classic POSIX lock, never an OFD lock.
      try (RandomAccessFile other = new RandomAccessFile(disk.toFile(), "r")) {
        other.read();
      }
      assertThat(OfdLocks.isBusy(disk, LockMode.READ)).isTrue();
      assertThat(foreignTry(disk, 0)).as("a foreign classic lock attempt is refused").isEqualTo(3);
    }
  }

  @Test
  void aForeignPosixLockOnByteZeroBlocksUsAndIsNamed() throws Exception {
    Path disk = Files.createFile(dir.resolve("virtlockd.img"));
    Process foreign = foreignHold(disk, 0);
    try {
      assertThat(OfdLocks.tryLock(disk, LockMode.WRITE)).isNull();
      assertThat(OfdLocks.tryLock(disk, LockMode.READ)).isNull();
      assertThat(LockHolders.holderOf(disk)).hasValue(foreign.pid());
    } finally {
      foreign.getOutputStream().close();
      foreign.waitFor(30, TimeUnit.SECONDS);
    }
    try (OfdLocks.HeldLock held = OfdLocks.tryLock(disk, LockMode.WRITE)) {
      assertThat(held).as("free once the foreign holder exits").isNotNull();
    }
  }

  @Test
  void whileWeHoldByteZeroAForeignPosixLockFails() throws Exception {
    Path disk = Files.createFile(dir.resolve("held.img"));
    try (OfdLocks.HeldLock held = OfdLocks.tryLock(disk, LockMode.READ)) {
      assertThat(foreignTry(disk, 0)).isEqualTo(3);
    }
    assertThat(foreignTry(disk, 0)).isEqualTo(0);
  }

  @Test
  void qemuStyleLocksOnOtherBytesDoNotConflict() throws Exception {
    Path disk = Files.createFile(dir.resolve("qemu.img"));
    try (RandomAccessFile file = new RandomAccessFile(disk.toFile(), "rw"); FileChannel channel = file.getChannel()) {
      file.setLength(300);
      Process foreign = foreignHold(disk, 100);
      try {
        try (OfdLocks.HeldLock held = OfdLocks.tryLock(disk, LockMode.WRITE)) {
          assertThat(held).isNotNull();
        }
      } finally {
        foreign.getOutputStream().close();
        foreign.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private static Process foreignHold(Path file, long offset) throws IOException {
    Process process = foreign("hold", file, offset);
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    assertThat(out.readLine()).as("the foreign process reports its lock").isEqualTo("locked");
    return process;
  }

  private static int foreignTry(Path file, long offset) throws Exception {
    Process process = foreign("try", file, offset);
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return process.exitValue();
  }

  private static Process foreign(String action, Path file, long offset) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ForeignPosixLocker.class.getName(),
        action, file.toString(), Long.toString(offset)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }
}
