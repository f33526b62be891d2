package io.lockwarden.e2e.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.e2e.chaos.TcpProxy.Mode;
import io.lockwarden.testing.Await;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpProxyTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  /** Long enough for an echo on loopback to come back were it let through. */
  private static final int STALL_MILLIS = 300;

  private EchoServer echo;
  private TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new EchoServer();
    proxy = new TcpProxy("127.0.0.1", echo.port());
  }

  @AfterEach
  void stop() {
    proxy.close();
    echo.close();
  }

  @Test
  void passForwardsBothWays() throws Exception {
    try (Socket client = connect()) {
      assertThat(echo(client, "hello")).isEqualTo("hello");
      assertThat(echo(client, "again")).isEqualTo("again");
    }
    assertThat(proxy.connections()).isEqualTo(1);
    Await.until("the proxy to drop the closed connection", WAIT, () -> proxy.openConnections() == 0);
    assertThat(proxy.summary()).contains("PASS: 1 connections (0 open), 0 reset");
  }

  @Test
  void blackholeStallsOpenAndNewConnectionsUntilPassComesBack() throws Exception {
    try (Socket open = connect()) {
      assertThat(echo(open, "before")).isEqualTo("before");

      proxy.mode(Mode.BLACKHOLE);
      send(open, "held");
      assertStalls(open);
      try (Socket held = connect()) {
        send(held, "also held");
        assertStalls(held);
        assertThat(echo.connections.get()).as("a held connection reaches no one").isEqualTo(1);

        proxy.mode(Mode.PASS);
        assertThat(receive(open, "held".length())).isEqualTo("held");
        assertThat(receive(held, "also held".length())).isEqualTo("also held");
      }
    }
    try (Socket fresh = connect()) {
      assertThat(echo(fresh, "after")).isEqualTo("after");
    }
    assertThat(proxy.resets()).isZero();
  }

  @Test
  void resetClosesOpenConnectionsOnBothSidesAndRefusesNewOnes() throws Exception {
    try (Socket open = connect()) {
      assertThat(echo(open, "before")).isEqualTo("before");

      proxy.mode(Mode.RESET);

      assertEnded(open);
      Await.until("the echo server to see its connection reset", WAIT, () -> echo.resets.get() == 1);
    }
    try (Socket refused = connect()) {
      assertEnded(refused);
    }
    assertThat(proxy.resets()).isEqualTo(2);
    assertThat(proxy.openConnections()).isZero();

    proxy.mode(Mode.PASS);
    try (Socket fresh = connect()) {
      assertThat(echo(fresh, "after")).isEqualTo("after");
    }
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket(InetAddress.getByName("127.0.0.1"), proxy.port());
    socket.setSoTimeout((int) WAIT.toMillis());
    return socket;
  }

  private static String echo(Socket socket, String text) throws IOException {
    send(socket, text);
    return receive(socket, text.length());
  }

  private static void send(Socket socket, String text) throws IOException {
    socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
    socket.getOutputStream().flush();
  }

  private static String receive(Socket socket, int length) throws IOException {
    return new String(socket.getInputStream().readNBytes(length), StandardCharsets.UTF_8);
  }

  /** A read with a short timeout times out; the socket stays usable afterwards. */
  private static void assertStalls(Socket socket) throws IOException {
    int timeout = socket.getSoTimeout();
    socket.setSoTimeout(STALL_MILLIS);
    try {
      assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
    } finally {
      socket.setSoTimeout(timeout);
    }
  }

  /** An RST shows as "Connection reset"; a reset that races the read may show as end of stream instead. */
  private static void assertEnded(Socket socket) throws IOException {
    try {
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    } catch (SocketException e) {
      assertThat(e).hasMessageContaining("reset");
    }
  }

  /** Echoes every byte back; counts connections and those that ended with an error rather than an end of stream. */
  private static final class EchoServer implements AutoCloseable {
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger resets = new AtomicInteger();
    private final ServerSocket server;

    EchoServer() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
      daemon(() -> {
        while (!server.isClosed()) {
          try {
            Socket socket = server.accept();
            connections.incrementAndGet();
            daemon(() -> serve(socket));
          } catch (IOException e) {
            // closed
          }
        }
      });
    }

    int port() {
      return server.getLocalPort();
    }

    private void serve(Socket socket) {
      try (socket) {
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[4096];
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          socket.getOutputStream().write(buffer, 0, n);
        }
      } catch (IOException e) {
        resets.incrementAndGet();
      }
    }

    private static void daemon(Runnable task) {
      Thread thread = new Thread(task, "echo");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      try {
        server.close();
      } catch (IOException e) {
        // closing is all that was wanted
      }
    }
  }
}
