package io.lockwarden.agent.quorum;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The peer link's settings (docs/safety.md, TIME-4), from the environment, checked at start:
 *
 * <ul>
 *   <li>{@code LOCKWARDEN_PEER_KEY_FILE}: the cluster's shared key (the chart's Secret); unset or {@code none} turns
 *       the link off, and the agent behaves as before TIME-4 (an API outage pauses its domains at fenceTimeout);
 *   <li>{@code LOCKWARDEN_PEER_LISTEN}: {@code host:port} to listen on, default {@value #LISTEN_DEFAULT};
 *   <li>{@code LOCKWARDEN_PEER_ADDRESS}: {@code host:port} its peers reach it at, written in its node Lease; default
 *       {@code $POD_IP} (or the listen host, or this host's address) and the port it listens on.
 * </ul>
 *
 * @param key null when the link is off
 */
public record PeerConfig(byte[] key, InetSocketAddress listen, String advertisedHost, Integer advertisedPort) {
  static final String LISTEN_DEFAULT = "0.0.0.0:7475";

  public static PeerConfig from(Map<String, String> env) {
    String keyFile = env.getOrDefault("LOCKWARDEN_PEER_KEY_FILE", "none");
    if (keyFile.isBlank() || keyFile.equals("none")) {
      return new PeerConfig(null, null, null, null);
    }
    byte[] key;
    try {
      key = Files.readString(Path.of(keyFile)).trim().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("LOCKWARDEN_PEER_KEY_FILE: cannot read " + keyFile + ": " + e.getMessage());
    }
    if (key.length < 16) {
      throw new IllegalArgumentException("LOCKWARDEN_PEER_KEY_FILE: " + keyFile + " holds " + key.length
          + " bytes; the peer key must be at least 16");
    }
    InetSocketAddress listen = hostPort("LOCKWARDEN_PEER_LISTEN", env.getOrDefault("LOCKWARDEN_PEER_LISTEN",
        LISTEN_DEFAULT));
    String advertised = env.get("LOCKWARDEN_PEER_ADDRESS");
    if (advertised != null && !advertised.isBlank()) {
      InetSocketAddress a = hostPort("LOCKWARDEN_PEER_ADDRESS", advertised);
      return new PeerConfig(key, listen, a.getHostString(), a.getPort());
    }
    String host = env.get("POD_IP");
    if (host == null || host.isBlank()) {
      host = listen.getAddress() != null && !listen.getAddress().isAnyLocalAddress() ? listen.getHostString()
          : localAddress();
    }
    return new PeerConfig(key, listen, host, null);
  }

  public boolean enabled() {
    return key != null;
  }

  /** {@code host:port} for the node Lease, given the port the server got. */
  public String advertised(int boundPort) {
    return advertisedHost + ":" + (advertisedPort != null ? advertisedPort : boundPort);
  }

  private static InetSocketAddress hostPort(String name, String value) {
    int colon = value.lastIndexOf(':');
    try {
      int port = Integer.parseInt(value.substring(colon + 1));
      if (colon <= 0 || port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(value.substring(0, colon), port);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + ": '" + value + "' is not host:port");
    }
  }

  private static String localAddress() {
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (IOException e) {
      return "127.0.0.1";
    }
  }
}
