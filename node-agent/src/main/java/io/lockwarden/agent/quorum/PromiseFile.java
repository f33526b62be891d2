package io.lockwarden.agent.quorum;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The promises this node gave, kept across an agent restart (docs/safety.md, TIME-4, QUO-2): one line in the run
 * directory, {@code <boot id> <promised until, monotonic ns> <frozen acknowledgement>}, written and synced before a
 * promise is answered. The monotonic clock is the host's since boot, so within one boot a new agent reads the time
 * exactly; after a reboot, or with the file unreadable, it cannot, and waits out the longest promise instead.
 */
public final class PromiseFile {
  static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

  private final Path file;
  private final String bootId;

  public PromiseFile(Path file, String bootId) {
    this.file = file;
    this.bootId = bootId;
  }

  /** This host's boot id, or "unknown" (then nothing written is ever trusted after a restart). */
  public static String bootId() {
    try {
      return Files.readString(BOOT_ID).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** What a predecessor left: {@link Loaded#NONE} if it never promised, {@link Loaded#UNKNOWN} if it cannot be read. */
  public Loaded load() {
    if (!Files.exists(file)) {
      return Loaded.NONE;
    }
    try {
      String[] f = Files.readString(file, StandardCharsets.UTF_8).trim().split(" ");
      if (f.length != 3 || bootId.equals("unknown") || !f[0].equals(bootId)) {
        return Loaded.UNKNOWN;
      }
      return new Loaded(Long.parseLong(f[1]), f[2], false);
    } catch (IOException | RuntimeException e) {
      return Loaded.UNKNOWN;
    }
  }

  /** Written to a temporary file, synced, and moved into place: a crash leaves the old line or the new one. */
  void save(long promisedUntil, String frozenAck) throws IOException {
    Files.createDirectories(file.getParent());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    byte[] line = (bootId + " " + promisedUntil + " " + frozenAck + "\n").getBytes(StandardCharsets.UTF_8);
    try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      out.write(java.nio.ByteBuffer.wrap(line));
      out.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true); // the rename itself, durable before the promise is answered
    }
  }

  /**
   * @param promisedUntil until when the predecessor promised (monotonic ns), with {@code frozenAck} what it reported
   * @param unknown true if nothing can be known: the new agent acknowledges nothing for the longest promise
   */
  public record Loaded(long promisedUntil, String frozenAck, boolean unknown) {
    public static final Loaded NONE = new Loaded(Long.MIN_VALUE, null, false);
    public static final Loaded UNKNOWN = new Loaded(Long.MIN_VALUE, null, true);
  }
}
