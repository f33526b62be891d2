package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.Members;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QuorumGateTest {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();
  private static final long MS = Duration.ofMillis(1).toNanos();
  /** W = 3 s. */
  private final QuorumGate gate = new QuorumGate(Duration.ofSeconds(3));

  private void members(String current, String previous) {
    gate.published(new MemberSets.Published(Members.parse(current), 1L, Members.parse(previous)));
  }

  @Test
  void anAcknowledgementIsFreshForTheWindowAfterItsRoundWasSent() {
    gate.sent(10, 100 * SECOND);
    gate.acknowledged("a", 10L);

    assertThat(gate.isFresh("a", 103 * SECOND)).as("exactly W after g(10)").isTrue();
    assertThat(gate.isFresh("a", 103 * SECOND + 1)).isFalse();
    assertThat(gate.isFresh("b", 100 * SECOND)).as("no acknowledgement at all").isFalse();
  }

  @Test
  void anotherReplicasHigherRoundCountsAsOurLatestBelowIt() {
    gate.sent(10, 100 * SECOND);
    gate.sent(12, 101 * SECOND);
    gate.acknowledged("a", 11L); // written by another replica between our 10 and 12
    gate.acknowledged("b", 40L); // newer than all of ours

    assertThat(gate.isFresh("a", 103 * SECOND)).as("timed as our 10").isTrue();
    assertThat(gate.isFresh("a", 103 * SECOND + 1)).as("not as our 12").isFalse();
    assertThat(gate.isFresh("b", 104 * SECOND)).as("timed as our latest, 12").isTrue();
    assertThat(gate.isFresh("b", 104 * SECOND + 1)).isFalse();
  }

  @Test
  void aRoundOlderThanAllWeWroteIsNeverFresh() {
    gate.sent(10, 100 * SECOND);
    gate.acknowledged("a", 9L); // from before this operator started, or another replica's older round

    assertThat(gate.isFresh("a", 100 * SECOND)).isFalse();
  }

  @Test
  void beforeAnyWriteSucceededNothingIsFresh() {
    gate.acknowledged("a", 5L);

    assertThat(gate.isFresh("a", 0)).isFalse();
  }

  @Test
  void roundTimesAreForgottenAfterAMinuteButTheLatestIsKept() {
    gate.sent(1, 0);
    gate.sent(2, 61 * SECOND);
    gate.acknowledged("a", 1L);
    gate.acknowledged("b", 7L);

    assertThat(gate.isFresh("a", 61 * SECOND)).as("forgotten: older than all we remember").isFalse();
    gate.sent(3, 200 * SECOND);
    assertThat(gate.isFresh("b", 200 * SECOND)).as("maps to our latest, 3").isTrue();
  }

  @Test
  void fencingNeedsAStrictMajorityOfTheCurrentSet() {
    members("a=,b=,c=,d=", "");
    gate.sent(1, 0);
    gate.acknowledged("a", 1L);
    gate.acknowledged("b", 1L);

    assertThat(gate.allowsFencing(SECOND)).as("2 of 4 is no majority").isFalse();

    gate.acknowledged("c", 1L);
    assertThat(gate.allowsFencing(SECOND)).as("3 of 4").isTrue();
    assertThat(gate.allowsFencing(3 * SECOND + 1)).as("stale: nothing acknowledged within W").isFalse();
  }

  @Test
  void fencingNeedsAMajorityOfThePreviousSetToo() {
    members("a=,b=,c=", "c=,d=,e=");
    gate.sent(1, 0);
    gate.acknowledged("a", 1L);
    gate.acknowledged("b", 1L);
    gate.acknowledged("c", 1L);

    assertThat(gate.allowsFencing(SECOND)).as("1 of the previous 3").isFalse();

    gate.acknowledged("d", 1L);
    assertThat(gate.allowsFencing(SECOND)).isTrue();
    assertThat(gate.acknowledging(gate.members(), SECOND)).isEqualTo(3);
  }

  @Test
  void anEmptySetNeverAllowsFencing() {
    gate.sent(1, 0);
    gate.acknowledged("a", 1L);

    assertThat(gate.allowsFencing(MS)).as("nothing published").isFalse();
    members("", "");
    assertThat(gate.allowsFencing(MS)).as("published, but nobody in it").isFalse();
  }

  @Test
  void theRoundsWeWriteStayAboveEveryAcknowledgement() {
    gate.acknowledged("a", 7L);
    gate.acknowledged("b", 900L);
    gate.acknowledged("c", null);

    assertThat(gate.highestAcknowledged()).isEqualTo(900L);
    assertThat(gate.acknowledgements()).containsOnlyKeys("a", "b");
  }
}
