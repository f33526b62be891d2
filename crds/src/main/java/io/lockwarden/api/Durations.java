package io.lockwarden.api;

import java.time.Duration;

/** "30s", "500ms", "2m": how every lockwarden duration setting is written, for the operator, agent and supervisor. */
public final class Durations {
  private Durations() {}

  /** @throws IllegalArgumentException naming the setting, if the value is not a duration */
  public static Duration parse(String name, String value) {
    try {
      if (value.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(value.substring(0, value.length() - 2)));
      }
      long amount = Long.parseLong(value.substring(0, value.length() - 1));
      return switch (value.charAt(value.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        default -> throw new NumberFormatException();
      };
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(name + ": '" + value + "' is not a duration like 30s, 500ms or 2m");
    }
  }

  /** The shortest spelling {@link #parse} reads back as the same duration, to the millisecond: "2m", "10s", "1500ms". */
  public static String format(Duration duration) {
    long millis = duration.toMillis();
    if (millis != 0 && millis % 60_000 == 0) {
      return millis / 60_000 + "m";
    }
    if (millis % 1000 == 0) {
      return millis / 1000 + "s";
    }
    return millis + "ms";
  }
}
