package io.lockwarden.agent.supervisor;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * The supervisors' class-data archive (AppCDS): with it a spare starts in about half the CPU time. One per class path
 * and JVM, named by a hash of the JVM, the supervisor's JVM flags and the content of every jar, so an upgraded agent
 * never uses its predecessor's (the JVM itself checks only each jar's size and time).
 *
 * <p>It lives in the agent's run directory (root's, 0711), where no domain can write. It is made by one spare started
 * with {@code -XX:ArchiveClassesAtExit}, which warms up (loading every class a start needs) and is let go at once:
 * the JVM writes the archive as it exits. Before any spare uses it, one probe spare must start from it and exit
 * cleanly, at every agent start: a truncated or foreign archive crashes a JVM at start, and would every supervisor.
 * A class path with a directory in it (a development build) cannot be archived: spares then start without one.
 */
final class SupervisorArchive {
  private final Path dir;
  private final Path log;
  private Path file;

  SupervisorArchive(Path dir, Path log) {
    this.dir = dir;
    this.log = log;
  }

  /**
   * Makes the archive if missing and checks it; returns it, or null when spares start without one. On the pool's
   * own thread: hashing the jars and the JVM starts below take seconds of CPU.
   */
  Path prepare() {
    try {
      file = dir.resolve("supervisor-" + key() + ".jsa");
      if (!Files.isRegularFile(file)) {
        make();
      }
      if (!Files.isRegularFile(file)) {
        return null;
      }
      if (!works()) {
        Files.deleteIfExists(file);
        say("event=supervisor-archive-skipped file=" + file + " note=\"a spare started from it failed; removed\"");
        return null;
      }
      return file;
    } catch (IOException | RuntimeException e) {
      say("event=supervisor-archive-skipped error=\"" + e.getMessage() + "\"");
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private void make() throws IOException, InterruptedException {
    // A name of its own: the JVM creates the file; a leftover of an earlier attempt is never mistaken for it.
    Path partial = file.resolveSibling(file.getFileName() + "." + ProcessHandle.current().pid() + "." + System.nanoTime()
        + ".partial");
    // -Xlog:cds=off: the dump lists every class it leaves out (old class-file versions in asm), noise in the log.
    SparePool.Spare trainee = SparePool.Spare.start(log, null, "-XX:ArchiveClassesAtExit=" + partial, "-Xlog:cds=off");
    trainee.lowerPriority();
    trainee.letGo();
    if (trainee.process.waitFor(2, TimeUnit.MINUTES) && trainee.process.exitValue() == 0
        && Files.isRegularFile(partial)) {
      try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.WRITE)) {
        channel.force(true); // on disk before its name says it is whole
      }
      Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
      forgetOlderArchives();
      say("event=supervisor-archive-made file=" + file);
    } else {
      trainee.process.destroyForcibly();
      Files.deleteIfExists(partial);
      say("event=supervisor-archive-skipped note=\"supervisors start without a class-data archive; see " + log + "\"");
    }
  }

  private boolean works() throws IOException, InterruptedException {
    SparePool.Spare probe = SparePool.Spare.start(log, file);
    probe.lowerPriority();
    probe.letGo();
    boolean ended = probe.process.waitFor(2, TimeUnit.MINUTES);
    if (!ended) {
      probe.process.destroyForcibly();
    }
    return ended && probe.process.exitValue() == 0;
  }

  /** An upgraded agent or JVM leaves its predecessor's archive behind; supervisors still using it keep their mapping. */
  private void forgetOlderArchives() throws IOException {
    try (var files = Files.newDirectoryStream(file.getParent(), "supervisor-*.jsa")) {
      for (Path other : files) {
        if (!other.equals(file)) {
          Files.deleteIfExists(other);
        }
      }
    }
  }

  private static String key() {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      digest.update((System.getProperty("java.home") + System.getProperty("java.vm.version") + SparePool.JVM_FLAGS
          + SparePool.CLASS_PATH).getBytes(StandardCharsets.UTF_8));
      byte[] buffer = new byte[1 << 16];
      for (String entry : SparePool.CLASS_PATH.split(File.pathSeparator)) {
        Path jar = Path.of(entry);
        if (Files.isRegularFile(jar)) {
          try (InputStream in = Files.newInputStream(jar)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
              digest.update(buffer, 0, n);
            }
          } catch (IOException e) {
            digest.update(entry.getBytes(StandardCharsets.UTF_8)); // unreadable now: the JVM will say so
          }
        }
      }
      return HexFormat.of().formatHex(digest.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void say(String line) {
    System.err.println(Instant.now() + " " + line);
  }
}
