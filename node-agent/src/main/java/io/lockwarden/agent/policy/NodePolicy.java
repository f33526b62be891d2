package io.lockwarden.agent.policy;

import io.lockwarden.api.v1alpha1.DomainConditions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * What a node's agent agrees to run and lock, so that a namespaced user who may create a SupervisedDomain gains no
 * root shell and no access to files outside the disk areas: only allowlisted executables, and only disks that resolve,
 * after following every symlink, under an allowed prefix. The lock is then taken on that canonical target.
 */
public final class NodePolicy {
  public static final String EXECUTABLE_NOT_ALLOWED = DomainConditions.REASON_EXECUTABLE_NOT_ALLOWED;
  public static final String PATH_NOT_ALLOWED = DomainConditions.REASON_PATH_NOT_ALLOWED;

  private final Set<String> allowedExecutables;
  private final List<Path> allowedPrefixes;

  /**
   * @param allowedExecutables absolute paths, compared exactly with argv[0]
   * @param allowedPrefixes directories; they are resolved once, here, so a symlinked prefix works as the admin meant
   */
  public NodePolicy(Set<String> allowedExecutables, List<Path> allowedPrefixes) {
    this.allowedExecutables = Set.copyOf(allowedExecutables);
    this.allowedPrefixes = allowedPrefixes.stream().map(NodePolicy::real).toList();
  }

  /** Why {@code command} may not run here, or null if it may. */
  public String refuseCommand(List<String> command) {
    String executable = command.isEmpty() ? "" : command.get(0);
    if (!executable.startsWith("/") || !allowedExecutables.contains(executable)) {
      return "'" + executable + "' is not an absolute path in this agent's --allowed-executables "
          + allowedExecutables;
    }
    return null;
  }

  /**
   * The canonical file to lock for {@code disk}, symlinks followed.
   *
   * @throws Refused with a message naming the disk, if it does not exist or resolves outside every allowed prefix
   */
  public Path canonicalDisk(String disk) throws Refused {
    Path real;
    try {
      real = Path.of(disk).toRealPath();
    } catch (IOException e) {
      throw new Refused("disk " + disk + " does not exist or cannot be resolved: " + e.getMessage());
    }
    if (!Files.isRegularFile(real) && !isBlockDevice(real)) {
      throw new Refused("disk " + disk + " resolves to " + real + ", which is neither a file nor a block device");
    }
    for (Path prefix : allowedPrefixes) {
      if (real.startsWith(prefix)) { // component-wise: /srv/disks2 is not under /srv/disks
        return real;
      }
    }
    throw new Refused("disk " + disk + " resolves to " + real + ", outside this agent's --allowed-path-prefixes "
        + allowedPrefixes);
  }

  /** Block devices are disks too (the storage notes cover them); st_mode's file type S_IFBLK is 0060000. */
  private static boolean isBlockDevice(Path path) {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode");
      return (mode & 0170000) == 0060000;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  private static Path real(Path prefix) {
    try {
      return prefix.toRealPath();
    } catch (IOException e) {
      return prefix.toAbsolutePath().normalize(); // a prefix that does not exist yet holds nothing yet
    }
  }

  /** A disk this node will not lock, with the reason for condition PathNotAllowed. */
  public static final class Refused extends Exception {
    public Refused(String message) {
      super(message);
    }
  }
}
