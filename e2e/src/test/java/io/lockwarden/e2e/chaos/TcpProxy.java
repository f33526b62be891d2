package io.lockwarden.e2e.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy between one agent and the API server, to cut that agent off and leave the others alone. PASS forwards;
 * BLACKHOLE is a partition: nothing moves and nothing closes, new connections are accepted and held, and bytes
 * already read are delivered when PASS comes back; RESET is a rejecting firewall or a dead peer: every connection, open
 * or new, is closed with an RST on both sides; MUTE_CLIENT is a partition in one direction: what the server sends on
 * open connections (a watch's events) still arrives, what the client sends (a renewal, a status report) and any new
 * connection are held. Bytes are copied untouched, so TLS passes through.
 */
public final class TcpProxy implements AutoCloseable {
  public enum Mode { PASS, BLACKHOLE, RESET, MUTE_CLIENT }

  private static final int CONNECT_TIMEOUT_MILLIS = 10_000;

  private final String targetHost;
  private final int targetPort;
  private final ServerSocket server;
  private final Set<Connection> open = ConcurrentHashMap.newKeySet();
  /** Copying threads wait on this while blackholed; notified on every mode change and connection end. */
  private final Object flow = new Object();
  private final AtomicLong connections = new AtomicLong();
  private final AtomicLong resets = new AtomicLong();
  private volatile Mode mode = Mode.PASS;
  private volatile boolean closed;

  public TcpProxy(String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    daemon("tcp-proxy-" + port() + "-accept", this::acceptLoop).start();
  }

  /** The port to give the agent instead of the API server's. */
  public int port() {
    return server.getLocalPort();
  }

  public Mode mode() {
    return mode;
  }

  public void mode(Mode mode) {
    this.mode = mode;
    if (mode == Mode.RESET) {
      open.forEach(Connection::reset);
    }
    wake();
  }

  /** Connections accepted so far. */
  public long connections() {
    return connections.get();
  }

  /** Connections closed with an RST so far. */
  public long resets() {
    return resets.get();
  }

  public int openConnections() {
    return open.size();
  }

  public String summary() {
    return "proxy 127.0.0.1:" + port() + " -> " + targetHost + ":" + targetPort + " " + mode + ": " + connections()
        + " connections (" + openConnections() + " open), " + resets() + " reset";
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    open.forEach(Connection::close);
    wake();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        continue; // closed: the loop ends; anything else: the next accept may work
      }
      connections.incrementAndGet();
      Connection connection = new Connection(client);
      open.add(connection);
      // After add, so a RESET that iterated the set before this connection was in it still reaches it.
      if (mode == Mode.RESET || closed) {
        connection.reset();
      } else {
        daemon("tcp-proxy-" + port() + "-connect", connection::connect).start();
      }
    }
  }

  private void wake() {
    synchronized (flow) {
      flow.notifyAll();
    }
  }

  private static Thread daemon(String name, Runnable task) {
    Thread thread = new Thread(task, name);
    thread.setDaemon(true);
    return thread;
  }

  /** Linger 0 makes close() send an RST instead of a FIN, and drops whatever was unsent. */
  private static void rst(Socket socket) {
    try {
      socket.setSoLinger(true, 0);
    } catch (IOException e) {
      // Already closed: there is nothing left to reset.
    }
    closeQuietly(socket);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception e) {
      // Closing is all that was wanted.
    }
  }

  /** One client connection and, once connected, its upstream. */
  private final class Connection {
    private final Socket client;
    private volatile Socket upstream;
    private final AtomicBoolean done = new AtomicBoolean();
    private final AtomicInteger copying = new AtomicInteger(2);

    Connection(Socket client) {
      this.client = client;
    }

    /** Held while blackholed, like a SYN that is never answered further along. */
    void connect() {
      try {
        if (!awaitFlowing(true)) {
          return;
        }
        Socket socket = new Socket();
        // The endpoints decide when to send; Nagle in the middle would add delays the real path does not have.
        socket.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MILLIS);
        upstream = socket;
        if (done.get()) {
          rst(socket); // reset or closed while connecting
          return;
        }
        daemon("tcp-proxy-" + port() + "-up", () -> copy(client, socket, true)).start();
        daemon("tcp-proxy-" + port() + "-down", () -> copy(socket, client, false)).start();
      } catch (IOException e) {
        close(); // the target is unreachable: the client sees its connection end, as with a refused upstream
      }
    }

    /** @param up whether the bytes go from the client to the server */
    private void copy(Socket from, Socket to, boolean up) {
      byte[] buffer = new byte[16 * 1024];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        while (awaitFlowing(up)) {
          int n = in.read(buffer);
          if (n < 0) {
            to.shutdownOutput(); // pass the FIN on; the other direction may still have bytes to deliver
            break;
          }
          // A read already waiting when the blackhole began: its bytes are held, not delivered.
          if (!awaitFlowing(up)) {
            break;
          }
          out.write(buffer, 0, n);
        }
      } catch (IOException e) {
        close(); // a reset or close of either side ends the whole connection
      } finally {
        if (copying.decrementAndGet() == 0) {
          close();
        }
      }
    }

    /** Waits while this direction is held; false once this connection is over. */
    private boolean awaitFlowing(boolean up) {
      synchronized (flow) {
        while ((mode == Mode.BLACKHOLE || (up && mode == Mode.MUTE_CLIENT)) && !done.get() && !closed) {
          try {
            flow.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
          }
        }
      }
      return !done.get() && !closed;
    }

    void reset() {
      if (finish()) {
        resets.incrementAndGet();
        rst(client);
        Socket socket = upstream;
        if (socket != null) {
          rst(socket);
        }
        wake();
      }
    }

    void close() {
      if (finish()) {
        closeQuietly(client);
        Socket socket = upstream;
        if (socket != null) {
          closeQuietly(socket);
        }
        wake();
      }
    }

    /** Once only; the books are kept before the sockets go, so a peer that sees the end also sees it counted. */
    private boolean finish() {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      open.remove(this);
      return true;
    }
  }
}
