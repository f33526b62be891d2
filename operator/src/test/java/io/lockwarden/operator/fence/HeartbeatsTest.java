package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HeartbeatsTest {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();
  /** nodeTimeout 10 s + grace 2 s. */
  private final Heartbeats heartbeats = new Heartbeats(12 * SECOND);

  @Test
  void aNodeIsAliveOnceSeenRenewingAndDeadAfterAFullSilentPeriod() {
    heartbeats.watching(true, 0);
    heartbeats.known("a", 0);
    assertThat(heartbeats.isAlive("a", 0)).as("listed, not yet seen renewing").isFalse();

    heartbeats.renewed("a", SECOND);
    assertThat(heartbeats.isAlive("a", SECOND)).isTrue();
    assertThat(heartbeats.isDead("a", 13 * SECOND)).as("exactly one period after").isFalse();
    assertThat(heartbeats.isDead("a", 13 * SECOND + 1)).isTrue();
    assertThat(heartbeats.isAlive("a", 13 * SECOND + 1)).isFalse();
  }

  @Test
  void silenceWhileNotWatchingNeverKillsANode() {
    heartbeats.watching(true, 0);
    heartbeats.renewed("a", 0);
    heartbeats.watching(false, 5 * SECOND);

    assertThat(heartbeats.isDead("a", 60 * SECOND)).as("an API outage of a minute").isFalse();

    heartbeats.watching(true, 60 * SECOND);
    assertThat(heartbeats.isDead("a", 71 * SECOND)).as("a fresh full period after the watch is back").isFalse();
    assertThat(heartbeats.isDead("a", 72 * SECOND + 1)).isTrue();
  }

  @Test
  void aNodeNeverSeenIsDeadOnePeriodAfterWatchingStarted() {
    heartbeats.watching(true, 100 * SECOND);

    assertThat(heartbeats.isAlive("ghost", 100 * SECOND)).isFalse();
    assertThat(heartbeats.isDead("ghost", 111 * SECOND)).isFalse();
    assertThat(heartbeats.isDead("ghost", 112 * SECOND + 1)).isTrue();
  }

  @Test
  void aRenewalResetsThePeriod() {
    heartbeats.watching(true, 0);
    heartbeats.renewed("a", 0);
    heartbeats.renewed("a", 10 * SECOND);

    assertThat(heartbeats.isDead("a", 20 * SECOND)).isFalse();
    assertThat(heartbeats.isDead("a", 22 * SECOND + 1)).isTrue();
  }
}
