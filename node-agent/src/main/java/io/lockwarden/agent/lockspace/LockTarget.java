package io.lockwarden.agent.lockspace;

import io.lockwarden.api.v1alpha1.DiskPath;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Which file a disk's lock is taken on, following virtlockd's conventions so that a libvirt host on the same storage
 * and lockwarden exclude each other: by default the disk file itself; with a lockspace directory, a zero-length file
 * in it, mode 0600, named by the SHA-256 hex of the disk path.
 */
public final class LockTarget {
  private LockTarget() {}

  /** For a disk whose path as written is its resolved path. */
  public static Path of(Path disk, Path lockspace) throws IOException {
    return of(disk.toString(), disk, lockspace);
  }

  /**
   * @param name the disk's path as the spec writes it: a lockspace file is named by its SHA-256, as virtlockd names it,
   *     so that every host names one disk's lock alike even where a symlink resolves differently per host
   * @param disk the file it resolves to on this host: what is locked without a lockspace
   * @param lockspace the lockspace directory, or null to lock the disk itself
   */
  public static Path of(String name, Path disk, Path lockspace) throws IOException {
    if (lockspace == null) {
      return disk;
    }
    Path file = nameOf(name, disk, lockspace);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (FileAlreadyExistsException e) {
      // Another holder, or an earlier run, made it: lockspace files are never deleted, as with virtlockd.
    }
    return file;
  }

  /** The file {@link #of} locks, without creating it. */
  public static Path nameOf(String name, Path disk, Path lockspace) {
    return lockspace == null ? disk : lockspace.resolve(DiskPath.sha256Hex(name));
  }
}
