package io.lockwarden.api.v1alpha1;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The admission rules for a disk path, shared by {@code DiskLease.spec.path} and {@code SupervisedDomain.spec.disks[].path}.
 *
 * <p>Paths are compared as strings everywhere (lease lookup, auto-lease names, lockspace file names), so two spellings
 * of one file would be two leases: that is why only the normalized spelling is accepted.
 */
public final class DiskPath {
  /** Longest accepted path in bytes: PATH_MAX on Linux. */
  public static final int MAX_BYTES = 4096;

  /** Absolute, normalized (no {@code //}, no {@code .} or {@code ..} segment, no trailing {@code /}), no NUL, bounded. */
  public static final String RULE = "self.startsWith('/') && !self.contains('//') && !self.endsWith('/')"
      + " && !self.matches('(^|/)[.][.]?(/|$)') && !self.contains('\\x00') && size(bytes(self)) <= 4096";

  /** Names the first broken part of {@link #RULE}, so the user reads one precise reason. */
  public static final String RULE_MESSAGE = "!self.startsWith('/') ? 'must be an absolute path (start with /)'"
      + " : self.contains('//') ? 'must be normalized: no // in the path'"
      + " : self.endsWith('/') ? 'must be normalized: no trailing /'"
      + " : self.matches('(^|/)[.][.]?(/|$)') ? 'must be normalized: no . or .. segments'"
      + " : self.contains('\\x00') ? 'must not contain a NUL character'"
      + " : 'must be at most 4096 bytes'";

  public static final String FALLBACK_MESSAGE = "must be an absolute, normalized path of at most 4096 bytes";

  private DiskPath() {}

  /**
   * SHA-256 of the path's UTF-8 bytes, in hex: names lockspace files (as virtlockd does), automatic DiskLeases and
   * path claims.
   */
  public static String sha256Hex(String path) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(path.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
