package io.lockwarden.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * /metrics (Prometheus text), /healthz (the process serves) and /readyz (it can do its job), on the JDK's own server:
 * the operator and the node agent serve the same three endpoints.
 */
public final class HttpEndpoints implements AutoCloseable {
  private final HttpServer server;

  /** @param notReady null when ready, else why not */
  public HttpEndpoints(String address, int port, Supplier<String> metrics, Supplier<String> notReady)
      throws IOException {
    server = HttpServer.create(new InetSocketAddress(address, port), 16);
    server.setExecutor(Executors.newFixedThreadPool(2, r -> {
      Thread thread = new Thread(r, "http");
      thread.setDaemon(true);
      return thread;
    }));
    server.createContext("/metrics", exchange -> send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
        metrics.get()));
    server.createContext("/healthz", exchange -> send(exchange, 200, "text/plain", "ok\n"));
    server.createContext("/readyz", exchange -> {
      String why = notReady.get();
      send(exchange, why == null ? 200 : 503, "text/plain", why == null ? "ok\n" : why + "\n");
    });
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void send(HttpExchange exchange, int code, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(code, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
