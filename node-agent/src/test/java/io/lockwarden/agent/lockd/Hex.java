package io.lockwarden.agent.lockd;

import java.util.HexFormat;

/** Bytes written as spaced hex in tests, so that each XDR word reads on its own. */
final class Hex {
  private Hex() {}

  static byte[] bytes(String spaced) {
    return HexFormat.of().parseHex(spaced.replaceAll("\\s+", ""));
  }

  static String of(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
