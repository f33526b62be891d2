package io.lockwarden.agent.quorum;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The asking side of the peer link (docs/safety.md, TIME-4, QUO-3): asks every peer at once for a promise and
 * gathers who granted it within {@link #TIMEOUT}. A peer that is slow, unreachable, refuses or answers anything but a
 * well-signed reply to this very request counts as not granting.
 */
public final class PeerClient implements AutoCloseable {
  static final Duration CONNECT = Duration.ofMillis(300);
  static final Duration TIMEOUT = Duration.ofMillis(800);

  private final String node;
  private final PeerMessage messages;
  private final SecureRandom random = new SecureRandom();
  private final ExecutorService askers = Executors.newCachedThreadPool(r -> {
    Thread thread = new Thread(r, "peer-ask");
    thread.setDaemon(true);
    return thread;
  });

  public PeerClient(String node, PeerMessage messages) {
    this.node = node;
    this.messages = messages;
  }

  /** What each peer answered. */
  public record Answers(Set<String> granted, Map<String, String> notGranted) {}

  /** Asks {@code peers} (node to {@code host:port}) for a promise of {@code duration}; blocks at most about a second. */
  public Answers ask(Map<String, String> peers, Duration duration) {
    Map<String, CompletableFuture<String>> pending = new TreeMap<>();
    peers.forEach((peer, address) -> pending.put(peer,
        CompletableFuture.supplyAsync(() -> askOne(peer, address, duration.toMillis()), askers)));
    Set<String> granted = new TreeSet<>();
    Map<String, String> notGranted = new TreeMap<>();
    long deadline = System.nanoTime() + TIMEOUT.toNanos() + CONNECT.toNanos();
    pending.forEach((peer, answer) -> {
      String outcome;
      try {
        outcome = answer.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        outcome = "no answer in time";
      }
      if (outcome == null) {
        granted.add(peer);
      } else {
        notGranted.put(peer, outcome);
      }
    });
    return new Answers(granted, notGranted);
  }

  /** Null if granted, else why not. */
  private String askOne(String peer, String address, long millis) {
    InetSocketAddress target = address(address);
    if (target == null) {
      return "no peer address advertised";
    }
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    String nonce = HexFormat.of().formatHex(bytes);
    try (Socket socket = new Socket()) {
      socket.connect(target, (int) CONNECT.toMillis());
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      PeerLines.write(socket.getOutputStream(), messages.promise(node, nonce, millis));
      String reply = PeerLines.read(socket.getInputStream());
      return messages.reply(reply, peer, node, nonce, millis) ? null : "refused: " + refusal(reply);
    } catch (IOException e) {
      return "unreachable: " + e.getMessage();
    } catch (PeerMessage.PeerProtocolException e) {
      return "bad reply: " + e.getMessage();
    }
  }

  private static String refusal(String reply) {
    String[] f = reply.split(" ");
    return f.length > 5 ? f[5] : "?";
  }

  /** {@code host:port}, or null if empty or not of that form. */
  static InetSocketAddress address(String text) {
    if (text == null) {
      return null;
    }
    int colon = text.lastIndexOf(':');
    if (colon <= 0) {
      return null;
    }
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      return port <= 0 || port > 65535 ? null : new InetSocketAddress(text.substring(0, colon), port);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  @Override
  public void close() {
    askers.shutdownNow();
  }
}
