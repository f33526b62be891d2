package io.lockwarden.agent.lockd;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What one daemon answered to a scenario, step by step: each reply in full, and its shape (header, code, domain,
 * level) for comparison with the other daemon; or whether a message went unanswered, or the connection was dropped.
 */
final class LockdTranscript {
  private final Path socket;
  final List<String> shapes = new ArrayList<>();
  final List<String> details = new ArrayList<>();

  LockdTranscript(Path socket) {
    this.socket = socket;
  }

  LockdClient connect() throws IOException {
    return LockdClient.connect(socket);
  }

  void call(LockdClient client, LockdCall call) throws IOException {
    send(client, LockdHeader.call(call.procedure().number(), client.nextSerial()), call.encode());
  }

  void send(LockdClient client, LockdHeader header, byte[] payload) throws IOException {
    client.send(header, payload);
    note(client.reply(LockdClient.REPLY_TIMEOUT).map(LockdClient.Reply::toString).orElse("no reply"));
  }

  /** For a message that virtlockd leaves unanswered: waits a second only (a late answer shows in the next step). */
  void sendUnanswered(LockdClient client, LockdHeader header, byte[] payload) throws IOException {
    client.send(header, payload);
    note(client.reply(Duration.ofSeconds(1)).map(LockdClient.Reply::toString).orElse("no reply"));
  }

  void raw(LockdClient client, byte[] bytes) throws IOException {
    client.sendRaw(bytes);
    note(client.closedByServer(Duration.ofSeconds(5)) ? "connection closed" : "connection open");
  }

  private void note(String outcome) {
    details.add(outcome);
    shapes.add(outcome.replaceAll(" message=.*", ""));
  }
}
