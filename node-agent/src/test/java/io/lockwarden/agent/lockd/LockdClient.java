package io.lockwarden.agent.lockd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A lockd client for tests that talks as libvirt's lockd plugin does (lock_driver_lockd.c): serials from 0, one call
 * at a time, REGISTER with flags 0 first. It also sends anything raw, and decodes replies (header and error payload)
 * so that the same sequence can be replayed to virtlockd and to {@link LockdServer} and the answers compared. It uses
 * the JDK's own Unix channels, independent of the server's.
 */
final class LockdClient implements AutoCloseable {
  static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

  /** A reply: its header, and for status ERROR the decoded virNetMessageError. */
  record Reply(LockdHeader header, LockdErrorPayload error) {
    boolean ok() {
      return header.status() == LockdHeader.OK && error == null;
    }

    /** What a comparison with virtlockd looks at: header, code, domain, level (messages differ by design). */
    String shape() {
      return header + (error == null ? " ok" : " code=" + error.code() + " domain=" + error.domain() + " level="
          + error.level());
    }

    @Override
    public String toString() {
      return error == null ? shape() : shape() + " message=\"" + error.message() + "\"";
    }
  }

  private final SocketChannel channel;
  private final Selector selector;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private int serial;

  private LockdClient(SocketChannel channel) throws IOException {
    this.channel = channel;
    channel.configureBlocking(false);
    this.selector = Selector.open();
    channel.register(selector, SelectionKey.OP_READ);
  }

  static LockdClient connect(Path socket) throws IOException {
    SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    return new LockdClient(channel);
  }

  Reply register(LockOwner owner) throws IOException {
    return call(new LockdCall.Register(owner, 0));
  }

  Reply restrict() throws IOException {
    return call(new LockdCall.Restrict(0));
  }

  Reply acquire(String lockspace, String resource, int flags) throws IOException {
    return call(new LockdCall.Resource(LockdProcedure.ACQUIRE_RESOURCE, lockspace, resource, flags));
  }

  Reply release(String lockspace, String resource) throws IOException {
    return call(new LockdCall.Resource(LockdProcedure.RELEASE_RESOURCE, lockspace, resource, 0));
  }

  Reply createLockspace(String path) throws IOException {
    return call(new LockdCall.CreateLockspace(path));
  }

  /** Sends one call with the next serial and waits for its reply. */
  Reply call(LockdCall call) throws IOException {
    return call(LockdHeader.call(call.procedure().number(), serial), call.encode());
  }

  /** Sends a message with any header (the serial counter still advances) and waits for the reply. */
  Reply call(LockdHeader header, byte[] payload) throws IOException {
    send(header, payload);
    return reply(REPLY_TIMEOUT).orElseThrow(() -> new IOException("no reply to " + header));
  }

  void send(LockdHeader header, byte[] payload) throws IOException {
    serial++;
    sendRaw(new LockdFrame(header, payload).encode());
  }

  int nextSerial() {
    return serial;
  }

  void sendRaw(byte[] bytes) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    while (buffer.hasRemaining()) {
      if (channel.write(buffer) == 0) {
        selector.select(10);
      }
    }
  }

  /**
   * The next reply, or empty if none came within {@code timeout}.
   *
   * @throws EOFException if the server closed the connection
   */
  Optional<Reply> reply(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Optional<Reply> complete = complete();
      if (complete.isPresent()) {
        return complete;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return Optional.empty();
      }
      selector.select(Math.max(1, left / 1_000_000));
      selector.selectedKeys().clear();
      ByteBuffer buffer = ByteBuffer.allocate(65536);
      int n;
      try {
        n = channel.read(buffer);
      } catch (IOException reset) {
        throw new EOFException("connection reset: " + reset.getMessage());
      }
      if (n < 0) {
        throw new EOFException("the server closed the connection");
      }
      pending.write(buffer.array(), 0, n);
    }
  }

  /** Whether the server closes the connection within {@code timeout} (replies before that are skipped). */
  boolean closedByServer(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        reply(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      }
      return false;
    } catch (EOFException e) {
      return true;
    }
  }

  private Optional<Reply> complete() throws IOException {
    byte[] bytes = pending.toByteArray();
    if (bytes.length < LockdFrame.LENGTH_SIZE) {
      return Optional.empty();
    }
    long length = Integer.toUnsignedLong(ByteBuffer.wrap(bytes).getInt());
    if (bytes.length < length) {
      return Optional.empty();
    }
    LockdFrame frame = LockdFrame.read(new ByteArrayInputStream(bytes, 0, (int) length));
    pending.reset();
    pending.write(bytes, (int) length, bytes.length - (int) length);
    try {
      return Optional.of(new Reply(frame.header(), frame.header().status() == LockdHeader.ERROR
          ? LockdErrorPayload.decode(frame.payload()) : null));
    } catch (XdrException e) {
      throw new IOException("undecodable error payload: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() throws IOException {
    selector.close();
    channel.close();
  }
}
