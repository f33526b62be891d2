package io.lockwarden.operator.lease;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReleaseThenGrantTest {
  private final ReleaseThenGrant tracker = new ReleaseThenGrant();

  @Test
  void aGrantOnAnotherNodeSoonAfterAReleaseIsOneHandOff() {
    tracker.released("disk", holder("node-a", 3), 1_000_000_000L);

    ReleaseThenGrant.HandOff handOff = tracker.granted("disk", holder("node-b", 4), 1_250_000_000L);

    assertThat(handOff).isEqualTo(new ReleaseThenGrant.HandOff("node-a", 3, Duration.ofMillis(250)));
    assertThat(tracker.granted("disk", holder("node-b", 5), 1_300_000_000L)).as("counted once").isNull();
  }

  @Test
  void aGrantOnTheSameNodeOrLongAfterIsNot() {
    tracker.released("disk", holder("node-a", 3), 0);
    assertThat(tracker.granted("disk", holder("node-a", 4), 1_000_000)).isNull();

    tracker.released("disk", holder("node-a", 4), 0);
    assertThat(tracker.granted("disk", holder("node-b", 5), ReleaseThenGrant.WINDOW.toNanos() + 1)).isNull();
  }

  private static LeaseHolder holder(String node, long epoch) {
    LeaseHolder holder = new LeaseHolder();
    holder.uid = "uid-1";
    holder.domain = "apps/vm";
    holder.node = node;
    holder.epoch = epoch;
    return holder;
  }
}
