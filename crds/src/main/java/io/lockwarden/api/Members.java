package io.lockwarden.api;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The member set of the quorum (docs/safety.md, TIME-4, QUO-4) as the operator publishes it in {@code
 * lockwarden-timing}: node names, each with the peer address it advertises ({@code host:port}, or empty), written
 * {@code a=10.0.0.1:7475,b=,c=10.0.0.3:7475}, sorted by name. The operator and every agent count majorities over it.
 */
public record Members(Map<String, String> addresses) {

  public static final Members NONE = new Members(Map.of());

  public Members {
    addresses = Collections.unmodifiableMap(new TreeMap<>(addresses));
  }

  /** Null or blank reads as no members; a malformed entry is refused with the entry named. */
  public static Members parse(String text) {
    if (text == null || text.isBlank()) {
      return NONE;
    }
    Map<String, String> addresses = new TreeMap<>();
    for (String entry : text.split(",")) {
      int eq = entry.indexOf('=');
      String node = (eq < 0 ? entry : entry.substring(0, eq)).trim();
      if (node.isEmpty()) {
        throw new IllegalArgumentException("member entry without a node name: \"" + entry + "\"");
      }
      addresses.put(node, eq < 0 ? "" : entry.substring(eq + 1).trim());
    }
    return new Members(addresses);
  }

  public String format() {
    return addresses.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
  }

  public boolean contains(String node) {
    return addresses.containsKey(node);
  }

  public int size() {
    return addresses.size();
  }

  /** Strictly more than half of the set: the smallest count that every other majority of it intersects. */
  public int majority() {
    return addresses.size() / 2 + 1;
  }

  /**
   * How many members must acknowledge the operator's rounds before it may fence (docs/safety.md, TIME-4, QUO-1): enough
   * that the rest cannot make a majority, which could all have promised. A strict majority for an odd count, half for
   * an even one.
   */
  public int acknowledgersNeeded() {
    return addresses.size() - majority() + 1;
  }

  /** Same node names, whatever the addresses. */
  public boolean sameNodes(Members other) {
    return addresses.keySet().equals(other.addresses.keySet());
  }
}
