package io.lockwarden.agent.quorum;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** One line each way on a peer connection, bounded: a peer that sends no end of line is cut off, not buffered. */
final class PeerLines {
  private PeerLines() {}

  /** The line without its end, or null at end of stream or past {@link PeerMessage#MAX_LINE} bytes. */
  static String read(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0 || line.size() > PeerMessage.MAX_LINE) {
        return null;
      }
      line.write(b);
    }
    return line.toString(StandardCharsets.UTF_8);
  }

  static void write(OutputStream out, String line) throws IOException {
    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
