package io.lockwarden.agent.lockd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * Puts a listening socket at a path the way a daemon that owns it should: the parent directory made if missing, a
 * stale socket (nobody answers) replaced, a live one or any other kind of file left alone, and mode 0600 from the
 * first moment the path answers: the socket is bound under a temporary name, restricted, then renamed into place.
 */
final class LockdSocketFile {
  /** sizeof(sun_path) minus the terminating NUL. */
  private static final int SUN_PATH_MAX = 107;
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private final Path path;
  private final Object fileKey;

  private LockdSocketFile(Path path, Object fileKey) {
    this.path = path;
    this.fileKey = fileKey;
  }

  /** Binds {@code channel} at {@code path} and starts listening. */
  static LockdSocketFile bind(UnixServerSocketChannel channel, Path path) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path temporary = parent.resolve("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".new");
    if (temporary.toString().getBytes(StandardCharsets.UTF_8).length > SUN_PATH_MAX) {
      throw new IOException("socket path " + temporary + " is longer than " + SUN_PATH_MAX + " bytes");
    }
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      refuseUnlessStale(path);
    }
    deleteIfSocket(temporary);
    channel.socket().bind(new UnixSocketAddress(temporary.toFile()));
    try {
      Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-------"));
      Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      Files.deleteIfExists(temporary);
      throw e;
    }
    return new LockdSocketFile(path, fileKey(path));
  }

  Path path() {
    return path;
  }

  /** Removes the path if it is still this socket (a successor may have replaced it). */
  void delete() {
    try {
      if (fileKey != null && fileKey.equals(fileKey(path))) {
        Files.delete(path);
      }
    } catch (IOException e) {
      // Gone already, or not ours to remove.
    }
  }

  private static void refuseUnlessStale(Path path) throws IOException {
    if (!isSocket(path)) {
      throw new IOException(path + " exists and is not a socket; refusing to replace it");
    }
    try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(path));
    } catch (IOException stale) {
      return; // nobody listens: a leftover of a daemon that died
    }
    throw new IOException("a daemon already listens at " + path + " (a virtlockd?); refusing to take its place");
  }

  private static void deleteIfSocket(Path path) throws IOException {
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && isSocket(path)) {
      Files.delete(path);
    }
  }

  private static Object fileKey(Path path) throws IOException {
    return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  private static boolean isSocket(Path path) throws IOException {
    int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    return (mode & S_IFMT) == S_IFSOCK;
  }
}
