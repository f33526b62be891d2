package io.lockwarden.agent.quorum;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The granting side of the peer link (docs/safety.md, TIME-4, QUO-2): answers each authenticated request for a promise
 * from what {@link QuorumState} allows. One request per connection; a connection that says nothing within a second, or
 * too much, is closed. Bad input gets a protocol error line and changes nothing.
 */
public final class PeerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerServer.class);
  static final Duration IDLE = Duration.ofSeconds(1);

  private final String node;
  private final QuorumState state;
  private final PeerMessage messages;
  private final LongSupplier clock;
  private final ServerSocket socket;
  private final ExecutorService handlers = new ThreadPoolExecutor(4, 4, 0, java.util.concurrent.TimeUnit.SECONDS,
      new java.util.concurrent.ArrayBlockingQueue<>(64), r -> daemon(r, "peer-request"));
  private final Thread acceptor;
  private volatile boolean promisingLogged;

  public PeerServer(String node, QuorumState state, PeerMessage messages, LongSupplier clock,
      InetSocketAddress listen) throws IOException {
    this.node = node;
    this.state = state;
    this.messages = messages;
    this.clock = clock;
    this.socket = new ServerSocket();
    socket.setReuseAddress(true);
    socket.bind(listen);
    this.acceptor = daemon(this::acceptLoop, "peer-server");
  }

  public PeerServer start() {
    acceptor.start();
    return this;
  }

  /** Where it listens: with port 0 asked, the port it got. */
  public int port() {
    return socket.getLocalPort();
  }

  private void acceptLoop() {
    while (!socket.isClosed()) {
      try {
        Socket connection = socket.accept();
        try {
          handlers.execute(() -> answer(connection));
        } catch (RejectedExecutionException e) {
          connection.close(); // too many at once: the asker counts this peer as silent
        }
      } catch (IOException e) {
        if (!socket.isClosed()) {
          log.warn("event=peer-accept-failed node={} error=\"{}\"", node, e.getMessage());
        }
      }
    }
  }

  private void answer(Socket connection) {
    try (connection) {
      connection.setSoTimeout((int) IDLE.toMillis());
      String line = PeerLines.read(connection.getInputStream());
      String reply;
      try {
        PeerMessage.Request request = messages.request(line);
        long now = clock.getAsLong();
        QuorumState.Refusal refusal = state.grant(Duration.ofMillis(request.millis()), now);
        if (refusal == null) {
          reply = messages.granted(node, request.asker(), request.nonce(), request.millis());
          if (!promisingLogged) {
            promisingLogged = true;
            log.warn("event=promise-granted node={} to={} millis={} acknowledging={} note=this node hears no round "
                + "from the operator either; it acknowledges no newer round until its promises run out", node,
                request.asker(), request.millis(), state.acknowledgement(now));
          }
        } else {
          reply = messages.refused(node, request.asker(), request.nonce(), refusal.name());
          promisingLogged = false;
        }
      } catch (PeerMessage.PeerProtocolException e) {
        log.warn("event=peer-request-refused node={} from={} error=\"{}\"", node, connection.getRemoteSocketAddress(),
            e.getMessage());
        reply = PeerMessage.error(e.getMessage());
      }
      PeerLines.write(connection.getOutputStream(), reply);
    } catch (IOException e) {
      // The asker went away or said nothing: it counts this peer as silent.
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread thread = new Thread(r, name);
    thread.setDaemon(true);
    return thread;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing
    }
    handlers.shutdownNow();
  }
}
