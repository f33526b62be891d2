package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.Members;
import io.lockwarden.api.NodeLeases;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class QuorumGateTest {
  private static final long SECOND = Duration.ofSeconds(1).toNanos();
  private static final long MS = Duration.ofMillis(1).toNanos();
  /** W = 3 s. */
  private final QuorumGate gate = new QuorumGate(Duration.ofSeconds(3));

  private static final String UID = "timing-uid";

  private void ack(String node, long round) {
    gate.acknowledged(node, new NodeLeases.Acknowledgement(UID, round));
  }

  private void members(String current, String previous) {
    gate.published(new MemberSets.Published(Members.parse(current), 1L, Members.parse(previous)));
  }

  @Test
  void anAcknowledgementIsFreshForTheWindowAfterItsRoundWasSent() {
    gate.sent(10, 100 * SECOND, UID);
    ack("a", 10);

    assertThat(gate.isFresh("a", 103 * SECOND)).as("exactly W after g(10)").isTrue();
    assertThat(gate.isFresh("a", 103 * SECOND + 1)).isFalse();
    assertThat(gate.isFresh("b", 100 * SECOND)).as("no acknowledgement at all").isFalse();
  }

  @Test
  void anotherReplicasHigherRoundCountsAsOurLatestBelowIt() {
    gate.sent(10, 100 * SECOND, UID);
    gate.sent(12, 101 * SECOND, UID);
    ack("a", 11); // written by another replica between our 10 and 12
    ack("b", 40); // newer than all of ours

    assertThat(gate.isFresh("a", 103 * SECOND)).as("timed as our 10").isTrue();
    assertThat(gate.isFresh("a", 103 * SECOND + 1)).as("not as our 12").isFalse();
    assertThat(gate.isFresh("b", 104 * SECOND)).as("timed as our latest, 12").isTrue();
    assertThat(gate.isFresh("b", 104 * SECOND + 1)).isFalse();
  }

  @Test
  void aRoundOlderThanAllWeWroteIsNeverFresh() {
    gate.sent(10, 100 * SECOND, UID);
    ack("a", 9); // from before this operator started, or another replica's older round

    assertThat(gate.isFresh("a", 100 * SECOND)).isFalse();
  }

  @Test
  void beforeAnyWriteSucceededNothingIsFresh() {
    ack("a", 5);

    assertThat(gate.isFresh("a", 0)).isFalse();
  }

  @Test
  void roundTimesAreForgottenAfterAMinuteButTheLatestIsKept() {
    gate.sent(1, 0, UID);
    gate.sent(2, 61 * SECOND, UID);
    ack("a", 1);
    ack("b", 7);

    assertThat(gate.isFresh("a", 61 * SECOND)).as("forgotten: older than all we remember").isFalse();
    gate.sent(3, 200 * SECOND, UID);
    assertThat(gate.isFresh("b", 200 * SECOND)).as("maps to our latest, 3").isTrue();
  }

  @Test
  void fencingNeedsTheSilentMembersToBeTooFewForAMajority() {
    members("a=,b=,c=,d=,e=", "");
    gate.sent(1, 0, UID);
    ack("a", 1);
    ack("b", 1);

    assertThat(gate.allowsFencing(SECOND)).as("3 silent of 5 could all have promised").isFalse();

    ack("c", 1);
    assertThat(gate.allowsFencing(SECOND)).as("2 silent of 5 are no majority").isTrue();
    assertThat(gate.allowsFencing(3 * SECOND + 1)).as("stale: nothing acknowledged within W").isFalse();
  }

  @Test
  void withAnEvenNumberOfMembersHalfAcknowledgingIsEnough() {
    members("a=,b=", "");
    gate.sent(1, 0, UID);
    ack("b", 1);
    assertThat(gate.allowsFencing(SECOND)).as("a alone is no majority of two: it cannot have two promises").isTrue();

    members("a=,b=,c=,d=", "");
    assertThat(gate.allowsFencing(SECOND)).as("3 silent of 4").isFalse();
    ack("c", 1);
    assertThat(gate.allowsFencing(SECOND)).as("2 silent of 4: a majority is 3").isTrue();
  }

  @Test
  void theNodeBeingFencedNeverCountsForItself() {
    members("a=,b=,c=", "");
    gate.sent(1, 0, UID);
    ack("a", 1); // a's last acknowledgement, still fresh: a has just been cut off, with b
    ack("c", 1);
    assertThat(gate.allowsFencing(SECOND)).as("two of three acknowledge").isTrue();
    assertThat(gate.allowsFencing(SECOND, "a")).as("but a's own does not count to fence a").isFalse();
    assertThat(gate.allowsFencing(SECOND, "b")).isTrue();
  }

  @Test
  void oneMemberIsItsOwnMajorityAndIsNeverFenced() {
    members("a=", "");
    gate.sent(1, 0, UID);
    assertThat(gate.allowsFencing(SECOND)).isFalse();
  }

  @Test
  void anAcknowledgementOfAnotherIncarnationOfTheConfigMapCountsForNothing() {
    gate.sent(10, 100 * SECOND, UID);
    gate.acknowledged("a", new NodeLeases.Acknowledgement("deleted-and-made-again", 10));
    assertThat(gate.isFresh("a", 100 * SECOND)).isFalse();
    assertThat(gate.acknowledgements()).isEmpty();
    assertThat(gate.highestAcknowledged()).as("but the rounds we write still stay above it").isEqualTo(10);
  }

  @Test
  void fencingNeedsAMajorityOfThePreviousSetToo() {
    members("a=,b=,c=", "c=,d=,e=");
    gate.sent(1, 0, UID);
    ack("a", 1);
    ack("b", 1);
    ack("c", 1);

    assertThat(gate.allowsFencing(SECOND)).as("2 of the previous 3 silent").isFalse();

    ack("d", 1);
    assertThat(gate.allowsFencing(SECOND)).isTrue();
    assertThat(gate.acknowledging(gate.members(), SECOND)).isEqualTo(3);
  }

  @Test
  void anEmptySetNeverAllowsFencing() {
    gate.sent(1, 0, UID);
    ack("a", 1);

    assertThat(gate.allowsFencing(MS)).as("nothing published").isFalse();
    members("", "");
    assertThat(gate.allowsFencing(MS)).as("published, but nobody in it").isFalse();
  }

  @Test
  void theRoundsWeWriteStayAboveEveryAcknowledgement() {
    ack("a", 7);
    ack("b", 900);
    gate.acknowledged("c", null);
    gate.sent(1, 0, UID);

    assertThat(gate.highestAcknowledged()).isEqualTo(900L);
    assertThat(gate.acknowledgements()).containsOnlyKeys("a", "b");
  }
}
