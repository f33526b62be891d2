package io.lockwarden.agent.lockd;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's virtlockd, started for a comparison. A privileged virtlockd always listens at /run/libvirt/virtlockd-sock
 * (no option moves it), so it runs in a private mount namespace with a tmpfs over /run and a directory of ours bound
 * over /run/libvirt: its socket appears in that directory, and nothing of the host's /run is touched.
 */
final class RealVirtlockd implements AutoCloseable {
  /** The virtlockd to compare with; {@code -Dlockwarden.virtlockd=...} points elsewhere (or nowhere, to see the skip). */
  static final Path BINARY = Path.of(System.getProperty("lockwarden.virtlockd", "/usr/sbin/virtlockd"));

  private final Process process;
  private final Path socket;
  private final Path output;

  private RealVirtlockd(Process process, Path socket, Path output) {
    this.process = process;
    this.socket = socket;
    this.output = output;
  }

  /** Whether this machine can run one: the binary, root (for the mount namespace), and unshare. */
  static String unavailableBecause() {
    if (!Files.isExecutable(BINARY)) {
      return BINARY + " is not installed (Debian's libvirt-daemon; see e2e/libvirt/install.sh)";
    }
    if (LockdServerTest.MY_UID != 0) {
      return "running virtlockd in a private mount namespace needs root";
    }
    if (!Files.isExecutable(Path.of("/usr/bin/unshare"))) {
      return "unshare (util-linux) is missing";
    }
    try {
      Process probe = new ProcessBuilder("unshare", "--mount", "true").redirectErrorStream(true).start();
      if (!probe.waitFor(10, TimeUnit.SECONDS) || probe.exitValue() != 0) {
        return "this machine allows no private mount namespace: "
            + new String(probe.getInputStream().readAllBytes()).trim();
      }
    } catch (IOException e) {
      return "unshare cannot run: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
    return null;
  }

  static RealVirtlockd start(Path dir) throws IOException, InterruptedException {
    Path run = Files.createDirectories(dir.resolve("run"));
    Path config = Files.writeString(dir.resolve("virtlockd.conf"), "");
    Path output = dir.resolve("virtlockd.out");
    String script = "mount -t tmpfs tmpfs /run && mkdir /run/libvirt && mount --bind \"$1\" /run/libvirt "
        + "&& exec \"$2\" -f \"$3\" -p \"$4\"";
    Process process = new ProcessBuilder(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
        script, "sh", run.toString(), BINARY.toString(), config.toString(), dir.resolve("virtlockd.pid").toString()))
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    RealVirtlockd daemon = new RealVirtlockd(process, run.resolve("virtlockd-sock"), output);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!daemon.answers()) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        daemon.close();
        throw new IOException("virtlockd did not come up: " + Files.readString(output));
      }
      Thread.sleep(50);
    }
    return daemon;
  }

  Path socket() {
    return socket;
  }

  private boolean answers() {
    try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  String output() throws IOException {
    return Files.readString(output);
  }
}
