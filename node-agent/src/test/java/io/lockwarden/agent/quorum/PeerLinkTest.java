package io.lockwarden.agent.quorum;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.api.TimingConfigMap;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The peer link on real sockets: signed requests and replies, refusals, and bad input. */
class PeerLinkTest {
  private static final byte[] KEY = "0123456789abcdef0123".getBytes(StandardCharsets.UTF_8);
  private static final long S = 1_000_000_000L;

  private final PeerMessage messages = new PeerMessage(KEY);

  @Test
  void aReplyIsTakenOnlyFromThePeerAskedForThisNonceAndDuration() throws Exception {
    String reply = messages.granted("b", "a", "n1", 6000);
    assertThat(messages.reply(reply, "b", "a", "n1", 6000)).isTrue();
    assertThatThrownBy(() -> messages.reply(reply, "b", "a", "n2", 6000)).hasMessageContaining("not the one expected");
    assertThatThrownBy(() -> messages.reply(reply, "c", "a", "n1", 6000)).hasMessageContaining("not the one expected");
    assertThatThrownBy(() -> messages.reply(reply, "b", "a", "n1", 9000)).hasMessageContaining("were asked");
    String forged = reply.replace("6000", "6001");
    assertThatThrownBy(() -> messages.reply(forged, "b", "a", "n1", 6001)).hasMessageContaining("bad mac");
    PeerMessage otherCluster = new PeerMessage("another-key-of-16-bytes".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> otherCluster.reply(reply, "b", "a", "n1", 6000)).hasMessageContaining("bad mac");
    assertThat(messages.reply(messages.refused("b", "a", "n1", "NOT_QUIET"), "b", "a", "n1", 6000)).isFalse();
  }

  @Test
  void requestsOutOfRangeOrMalformedAreRefusedWithTheReason() {
    assertThatThrownBy(() -> messages.request(messages.promise("a", "n", 0))).hasMessageContaining("out of range");
    assertThatThrownBy(() -> messages.request(messages.promise("a", "n", 3_600_000))).hasMessageContaining("out of range");
    assertThatThrownBy(() -> messages.request("LW1 PROMISE a n")).hasMessageContaining("expected LW1 PROMISE");
    assertThatThrownBy(() -> messages.request(null)).hasMessageContaining("no line");
    assertThatThrownBy(() -> messages.request("x".repeat(5000))).hasMessageContaining("a line of 5000");
    assertThatThrownBy(() -> new PeerMessage(new byte[8])).hasMessageContaining("at least 16 bytes");
  }

  @Test
  void aQuietPeerGrantsALoudOneRefusesAndBadInputGetsAnErrorLine() throws Exception {
    AtomicLong now = new AtomicLong(0);
    QuorumState b = new QuorumState("b", -60 * S);
    b.learned("uid", Map.of(TimingConfigMap.ROUND, "5", TimingConfigMap.WINDOW, "3s", TimingConfigMap.MEMBERS,
        "a=,b=,c="), 0);
    try (PeerServer server = new PeerServer("b", b, messages, now::get, new InetSocketAddress("127.0.0.1", 0)).start();
        PeerClient client = new PeerClient("a", messages)) {
      Map<String, String> peers = Map.of("b", "127.0.0.1:" + server.port(), "c", "127.0.0.1:1", "d", "");
      PeerClient.Answers loud = client.ask(peers, Duration.ofSeconds(6));
      assertThat(loud.granted()).isEmpty();
      assertThat(loud.notGranted().get("b")).contains("NOT_QUIET");
      assertThat(loud.notGranted().get("c")).startsWith("unreachable");
      assertThat(loud.notGranted().get("d")).isEqualTo("no peer address advertised");

      now.set(4 * S);
      PeerClient.Answers quiet = client.ask(peers, Duration.ofSeconds(6));
      assertThat(quiet.granted()).containsExactly("b");
      assertThat(b.promising(4 * S)).isTrue();

      PeerClient wrongKey = new PeerClient("a", new PeerMessage("not-this-clusters-key".getBytes(StandardCharsets.UTF_8)));
      assertThat(wrongKey.ask(peers, Duration.ofSeconds(6)).notGranted().get("b")).contains("bad reply");
      wrongKey.close();

      try (Socket raw = new Socket("127.0.0.1", server.port())) {
        PeerLines.write(raw.getOutputStream(), "GET / HTTP/1.1");
        assertThat(PeerLines.read(raw.getInputStream())).startsWith("LW1 ERROR expected LW1 PROMISE");
      }
      try (Socket silent = new Socket("127.0.0.1", server.port())) {
        // says nothing: the server closes it after its idle time, and goes on answering others
        assertThat(silent.getInputStream().read()).isEqualTo(-1);
      }
      assertThat(client.ask(peers, Duration.ofSeconds(6)).granted()).containsExactly("b");
    }
  }

  @Test
  void addressesAreHostAndPortOrNothing() throws IOException {
    assertThat(PeerClient.address("10.0.0.1:7475")).isEqualTo(new InetSocketAddress("10.0.0.1", 7475));
    assertThat(PeerClient.address("")).isNull();
    assertThat(PeerClient.address("10.0.0.1")).isNull();
    assertThat(PeerClient.address("h:0")).isNull();
    assertThat(PeerClient.address("h:x")).isNull();
  }
}
