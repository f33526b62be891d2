package io.lockwarden.agent.lockd;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.ByteChannel;
import java.nio.channels.Channels;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted connection on its own thread: reads messages, answers them in order through its {@link LockdSession},
 * and ends when the peer goes, when the stream loses its framing (as virtlockd, without a reply), or when the server
 * closes it. Whatever ends it, the session hears of it exactly once.
 */
final class LockdConnection implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(LockdConnection.class);

  private final ByteChannel channel;
  private final PeerCredentials peer;
  private final String name;
  private final LockdSession session;
  private final Consumer<LockdConnection> onEnd;
  private volatile boolean closedByServer;

  /**
   * @param channel the accepted socket, in blocking mode
   * @param onEnd run last on the connection's thread, after the channel is closed (the server forgets it)
   */
  LockdConnection(ByteChannel channel, PeerCredentials peer, String name, LockService service,
      Consumer<LockdConnection> onEnd) {
    this.channel = channel;
    this.peer = peer;
    this.name = name;
    this.session = new LockdSession(service, peer, name);
    this.onEnd = onEnd;
  }

  String name() {
    return name;
  }

  @Override
  public void run() {
    log.info("event=lockd-connected conn={} peerPid={} uid={} gid={}", name, peer.pid(), peer.uid(), peer.gid());
    String reason = "peer closed";
    boolean abnormal = true;
    try {
      InputStream in = new BufferedInputStream(Channels.newInputStream(channel));
      OutputStream out = Channels.newOutputStream(channel);
      while (true) {
        LockdFrame frame = LockdFrame.read(in);
        if (frame == null) {
          abnormal = false;
          break;
        }
        if (frame.header().type() == LockdHeader.CALL_WITH_FDS) {
          // No lockd procedure takes descriptors; virtlockd drops such a connection too.
          reason = "a call with file descriptors";
          break;
        }
        Optional<LockdFrame> reply = session.handle(frame);
        if (reply.isPresent()) {
          out.write(reply.get().encode());
        }
      }
    } catch (LockdFrame.BadFrame e) {
      reason = "bad frame: " + e.getMessage();
    } catch (EOFException e) {
      reason = "peer closed inside a message";
    } catch (IOException | RuntimeException e) {
      reason = closedByServer ? "server closed" : "error: " + e;
    } finally {
      closeChannel();
      boolean byServer = closedByServer;
      String why = LockdCall.quote(byServer ? "server closed" : reason);
      if (abnormal && !byServer) {
        log.warn("event=lockd-disconnected conn={} peerPid={} reason={}", name, peer.pid(), why);
      } else {
        log.info("event=lockd-disconnected conn={} peerPid={} reason={}", name, peer.pid(), why);
      }
      try {
        session.closed(byServer);
      } finally {
        onEnd.accept(this);
      }
    }
  }

  /** Closes the socket from another thread; a blocked read returns, and the session is told the server closed it. */
  void closeByServer() {
    closedByServer = true;
    closeChannel();
  }

  private void closeChannel() {
    try {
      channel.close();
    } catch (IOException e) {
      log.debug("event=lockd-close-failed conn={} error=\"{}\"", name, e.getMessage());
    }
  }
}
