package io.lockwarden.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void whatFormatWritesParseReadsBackAsTheSameDuration() {
    for (Duration d : new Duration[] {Duration.ZERO, Duration.ofMillis(200), Duration.ofMillis(1500),
        Duration.ofSeconds(10), Duration.ofMinutes(2), Duration.ofSeconds(90)}) {
      assertThat(Durations.parse("d", Durations.format(d))).isEqualTo(d);
    }
    assertThat(Durations.format(Duration.ofSeconds(10))).isEqualTo("10s");
    assertThat(Durations.format(Duration.ofMinutes(2))).isEqualTo("2m");
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
  }
}
