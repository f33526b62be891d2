package io.lockwarden.agent.quorum;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The peer link's one exchange (docs/safety.md, TIME-4), a line each way, each authenticated with HMAC-SHA256 under
 * the key every agent of the cluster shares:
 *
 * <pre>
 * LW1 PROMISE &lt;asker&gt; &lt;nonce&gt; &lt;millis&gt; &lt;mac&gt;          asker to peer
 * LW1 GRANTED &lt;peer&gt; &lt;asker&gt; &lt;nonce&gt; &lt;millis&gt; &lt;mac&gt;   peer to asker: it promises
 * LW1 REFUSED &lt;peer&gt; &lt;asker&gt; &lt;nonce&gt; &lt;reason&gt; &lt;mac&gt;   peer to asker: it does not
 * LW1 ERROR &lt;text&gt;                                    peer to anyone: bad input, not authenticated
 * </pre>
 *
 * The mac covers everything before it. A reply names the asker and echoes its nonce, so a reply recorded earlier, or
 * meant for another node, is never taken for this one. A promise is not secret: authenticity is what it needs.
 */
public final class PeerMessage {
  static final String VERSION = "LW1";
  /** No valid line is longer: node names are at most 253 bytes. */
  static final int MAX_LINE = 1024;

  private final byte[] key;

  public PeerMessage(byte[] key) {
    if (key.length < 16) {
      throw new IllegalArgumentException("the peer key must be at least 16 bytes, is " + key.length);
    }
    this.key = key.clone();
  }

  public String promise(String asker, String nonce, long millis) {
    return sign(String.join(" ", VERSION, "PROMISE", asker, nonce, Long.toString(millis)));
  }

  public String granted(String peer, String asker, String nonce, long millis) {
    return sign(String.join(" ", VERSION, "GRANTED", peer, asker, nonce, Long.toString(millis)));
  }

  public String refused(String peer, String asker, String nonce, String reason) {
    return sign(String.join(" ", VERSION, "REFUSED", peer, asker, nonce, reason));
  }

  public static String error(String text) {
    return VERSION + " ERROR " + text.replaceAll("[\\r\\n]", " ");
  }

  /** A request the peer server read: who asks, with which nonce, for how long. */
  public record Request(String asker, String nonce, long millis) {}

  /** Parses and authenticates a request; a {@link PeerProtocolException} names what is wrong. */
  public Request request(String line) throws PeerProtocolException {
    String[] f = fields(line, 6, "PROMISE");
    long millis = number(f[4]);
    if (millis <= 0 || millis > 60_000) {
      throw new PeerProtocolException("a promise of " + millis + " ms is out of range (1 to 60000)");
    }
    return new Request(f[2], f[3], millis);
  }

  /**
   * Parses and authenticates the reply to {@code asked}: true if {@code peer} granted it for the duration asked, false
   * if it refused; a {@link PeerProtocolException} for anything else (a forged, replayed or misdirected reply).
   */
  public boolean reply(String line, String peer, String asker, String nonce, long millis) throws PeerProtocolException {
    if (line != null && line.startsWith(VERSION + " ERROR ")) {
      throw new PeerProtocolException("the peer answered: " + line.substring(VERSION.length() + 7));
    }
    boolean granted = line != null && line.startsWith(VERSION + " GRANTED ");
    String[] f = fields(line, 7, granted ? "GRANTED" : "REFUSED");
    if (!f[2].equals(peer) || !f[3].equals(asker) || !f[4].equals(nonce)) {
      throw new PeerProtocolException("a reply from " + f[2] + " to " + f[3] + " for nonce " + f[4]
          + " is not the one expected from " + peer);
    }
    if (granted && number(f[5]) != millis) {
      throw new PeerProtocolException("granted " + f[5] + " ms where " + millis + " were asked");
    }
    return granted;
  }

  private String[] fields(String line, int count, String kind) throws PeerProtocolException {
    if (line == null) {
      throw new PeerProtocolException("no line");
    }
    if (line.length() > MAX_LINE) {
      throw new PeerProtocolException("a line of " + line.length() + " characters");
    }
    String[] f = line.split(" ", -1);
    if (f.length != count || !f[0].equals(VERSION) || !f[1].equals(kind)) {
      throw new PeerProtocolException("expected " + VERSION + " " + kind + " with " + (count - 2) + " fields");
    }
    String body = line.substring(0, line.lastIndexOf(' '));
    byte[] expected = mac(body).getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, f[count - 1].getBytes(StandardCharsets.US_ASCII))) {
      throw new PeerProtocolException("bad mac: not signed with this cluster's peer key");
    }
    return f;
  }

  private static long number(String text) throws PeerProtocolException {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new PeerProtocolException("'" + text + "' is not a number");
    }
  }

  private String sign(String body) {
    return body + " " + mac(body);
  }

  private String mac(String body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  /** Bad input on the peer link. */
  public static final class PeerProtocolException extends Exception {
    PeerProtocolException(String message) {
      super(message);
    }
  }
}
