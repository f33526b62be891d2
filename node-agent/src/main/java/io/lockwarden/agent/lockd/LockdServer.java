package io.lockwarden.agent.lockd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import jnr.constants.platform.Fcntl;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import jnr.unixsocket.Credentials;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves libvirt's lockd protocol on a Unix stream socket, where libvirt's lockd plugin looks for virtlockd
 * ({@value #DEFAULT_SOCKET} for a privileged libvirt). One named daemon thread accepts; each connection gets a daemon
 * thread of its own, so a call blocked in the service holds up only its own connection.
 *
 * <p>Who may connect: only peers whose SO_PEERCRED uid is the permitted one (virtlockd: root for a privileged daemon,
 * its own uid otherwise). The peer's pid from SO_PEERCRED is what tells the lifetime connection apart (the JDK's Unix
 * channels give no pid, hence jnr-unixsocket).
 */
public final class LockdServer implements AutoCloseable {
  public static final String DEFAULT_SOCKET = "/run/libvirt/virtlockd-sock";
  private static final Logger log = LoggerFactory.getLogger(LockdServer.class);
  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();
  private static final int FD_CLOEXEC = 1;

  private final Path socket;
  private final int permittedUid;
  private final LockService service;
  private final Set<LockdConnection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicLong counter = new AtomicLong();
  private UnixServerSocketChannel listener;
  private LockdSocketFile file;
  private Thread acceptor;
  private volatile boolean closed;

  /**
   * @param socket where to listen
   * @param permittedUid the only peer uid served (the agent passes its own uid: 0 as root)
   * @param service what answers the calls
   */
  public LockdServer(Path socket, int permittedUid, LockService service) {
    this.socket = socket.toAbsolutePath();
    this.permittedUid = permittedUid;
    this.service = service;
  }

  /** Binds the socket (mode 0600, replacing a stale one, refusing to displace a live daemon) and starts accepting. */
  public synchronized LockdServer start() throws IOException {
    if (listener != null || closed) {
      throw new IllegalStateException("a LockdServer starts once");
    }
    listener = UnixServerSocketChannel.open();
    try {
      cloexec(listener.getFD());
      file = LockdSocketFile.bind(listener, socket);
    } catch (IOException | RuntimeException e) {
      listener.close();
      throw e;
    }
    acceptor = new Thread(this::acceptLoop, "lockd-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    log.info("event=lockd-listening socket={} permittedUid={}", socket, permittedUid);
    return this;
  }

  public Path socket() {
    return socket;
  }

  private void acceptLoop() {
    long backoff = 0;
    while (!closed) {
      UnixSocketChannel channel;
      try {
        channel = listener.accept();
        backoff = 0;
      } catch (IOException | RuntimeException e) {
        if (closed || !listener.isOpen()) {
          return;
        }
        // Out of descriptors, say: libvirt must still find a daemon here once the pressure is gone.
        backoff = Math.min(1_000, Math.max(10, backoff * 2));
        log.error("event=lockd-accept-failed socket={} error=\"{}\" retryInMs={}", socket, e.toString(), backoff);
        sleep(backoff);
        continue;
      }
      if (channel != null) {
        admit(channel);
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void admit(UnixSocketChannel channel) {
    LockdConnection connection = null;
    try {
      cloexec(channel.getFD());
      Credentials credentials = channel.getOption(UnixSocketOptions.SO_PEERCRED);
      PeerCredentials peer = new PeerCredentials(credentials.getPid(), credentials.getUid(), credentials.getGid());
      if (peer.uid() != permittedUid) {
        log.warn("event=lockd-peer-refused uid={} gid={} pid={} permittedUid={}", peer.uid(), peer.gid(), peer.pid(),
            permittedUid);
        channel.close();
        return;
      }
      String name = "lockd-" + counter.incrementAndGet();
      connection = new LockdConnection(channel, peer, name, service, connections::remove);
      connections.add(connection);
      Thread thread = new Thread(connection, name);
      thread.setDaemon(true);
      thread.start();
      if (closed) {
        connection.closeByServer(); // close() ran while this one was being admitted
      }
    } catch (IOException | RuntimeException | OutOfMemoryError e) {
      log.error("event=lockd-admit-failed error=\"{}\"", e.toString());
      if (connection != null) {
        connections.remove(connection);
      }
      try {
        channel.close();
      } catch (IOException ignored) {
        // already failing
      }
    }
  }

  /** The number of open connections, for tests and metrics. */
  public int connectionCount() {
    return connections.size();
  }

  /** Stops accepting, removes the socket file if it is still ours, and closes every connection. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      if (listener != null) {
        listener.close(); // shuts the socket down first, which wakes the blocked accept
      }
    } catch (IOException e) {
      log.warn("event=lockd-close-failed socket={} error=\"{}\"", socket, e.getMessage());
    }
    if (file != null) {
      file.delete();
    }
    for (LockdConnection connection : connections) {
      connection.closeByServer();
    }
    if (acceptor != null) {
      try {
        acceptor.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    log.info("event=lockd-closed socket={}", socket);
  }

  private static void cloexec(int fd) {
    // Neither the listener nor a connection may live on in a child the agent starts: a copy would keep the socket
    // accepting, or a connection the agent closed open, after the agent let go of it.
    POSIX_CALLS.fcntlInt(fd, Fcntl.F_SETFD, FD_CLOEXEC);
  }
}
