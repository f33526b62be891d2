package io.lockwarden.agent.quorum;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of TIME-4 (docs/safety.md) on the agent's side, on a clock the test moves. */
class QuorumStateTest {
  private static final long S = 1_000_000_000L;
  private static final Duration D = Duration.ofSeconds(6);

  private static Map<String, String> published(long round, String members) {
    return Map.of(TimingConfigMap.ROUND, Long.toString(round), TimingConfigMap.WINDOW, "3s",
        TimingConfigMap.MEMBERS, members);
  }

  /** Started long before: past the wait after a start. */
  private static final long STARTED = -60 * S;

  private static QuorumState learnedAt(String node, long round, long now) {
    QuorumState state = new QuorumState(node, STARTED);
    assertThat(state.learned("uid-1", published(round, "a=h:1,b=h:2,c=h:3"), now)).isNull();
    return state;
  }

  @Test
  void quietIsTheWindowStretchedForClockRatesPlusAMargin() {
    assertThat(QuorumState.quiet(Duration.ofSeconds(3))).isEqualTo(Duration.ofMillis(3290));
    // W' >= W (1 + ρ) / (1 − ρ) for ρ = 1 %, the argument's requirement.
    assertThat(QuorumState.quiet(Duration.ofSeconds(3)).toNanos()).isGreaterThan((long) (3 * S * 1.01 / 0.99));
  }

  @Test
  void aNodeThatLearnedARoundWithinTheQuietPeriodRefuses() {
    QuorumState b = learnedAt("b", 7, 0);
    assertThat(b.grant(D, 3 * S)).isNotNull();
    assertThat(b.refusal(3 * S)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
    assertThat(b.grant(D, 3_290_000_001L)).isNull();
  }

  @Test
  void aNewRoundMakesItLoudAgainAnOldOneDoesNot() {
    QuorumState b = learnedAt("b", 7, 0);
    b.learned("uid-1", published(7, "a=h:1,b=h:2,c=h:3"), 4 * S); // the same round again: a resync, not news
    assertThat(b.refusal(4 * S)).isNull();
    b.learned("uid-1", published(8, "a=h:1,b=h:2,c=h:3"), 4 * S);
    assertThat(b.refusal(5 * S)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
  }

  @Test
  void nothingIsPromisedBeforeARoundAndAWindowAreKnownOrWhenTheyDoNotParse() {
    QuorumState b = new QuorumState("b", STARTED);
    assertThat(b.grant(D, 100 * S)).isEqualTo(QuorumState.Refusal.NO_ROUNDS_KNOWN);
    assertThat(b.refusal(100 * S)).isEqualTo(QuorumState.Refusal.NO_ROUNDS_KNOWN);
    assertThat(b.learned("uid-1", Map.of(TimingConfigMap.ROUND, "3", TimingConfigMap.WINDOW, "soon"), 0)).contains("window");
    assertThat(b.grant(D, 100 * S)).isEqualTo(QuorumState.Refusal.NO_ROUNDS_KNOWN);
    assertThat(b.learned("uid-1", Map.of(TimingConfigMap.ROUND, "x", TimingConfigMap.WINDOW, "3s"), 0)).contains("round");
    assertThat(b.learned("uid-1", Map.of(TimingConfigMap.ROUND, "4", TimingConfigMap.WINDOW, "3s",
        TimingConfigMap.MEMBERS, "=h:1"), 0)).contains("members");
    assertThat(b.members().size()).isZero();
  }

  @Test
  void whilePromisingItAcknowledgesOnlyTheRoundItFroze() {
    QuorumState b = learnedAt("b", 7, 0);
    long p0 = 4 * S;
    assertThat(b.grant(D, p0)).isNull();
    b.learned("uid-1", published(9, "a=h:1,b=h:2,c=h:3"), 5 * S); // the API server is back
    assertThat(b.acknowledgement(5 * S)).isEqualTo("uid-1/7");
    assertThat(b.promising(p0 + D.toNanos() - 1)).isTrue();
    assertThat(b.acknowledgement(p0 + D.toNanos() - 1)).isEqualTo("uid-1/7");
    b.learned("uid-1", published(10, "a=h:1,b=h:2,c=h:3"), p0 + D.toNanos() - S / 2);
    assertThat(b.acknowledgement(p0 + D.toNanos())).isEqualTo("uid-1/10");
    assertThat(b.grant(D, p0 + D.toNanos())).isEqualTo(QuorumState.Refusal.NOT_QUIET); // lapsed: no taper
  }

  @Test
  void onceRoundsComeBackAPromiseRunningMayBeExtendedForTheTaperWithTheRoundStillFrozen() {
    QuorumState b = learnedAt("b", 7, 0);
    assertThat(b.grant(D, 4 * S)).isNull();
    long back = 5 * S;
    long end = back + QuorumState.TAPER.toNanos();
    long round = 9;
    for (long t = back; t < end; t += S / 2) { // a round every 500 ms; a peer's renewal may still hang: go on a while
      b.learned("uid-1", published(round++, "a=h:1,b=h:2,c=h:3"), t);
      assertThat(b.grant(D, t)).as("at +%d ms", (t - back) / 1_000_000).isNull();
      assertThat(b.acknowledgement(t)).isEqualTo("uid-1/7");
    }
    b.learned("uid-1", published(round, "a=h:1,b=h:2,c=h:3"), end);
    assertThat(b.grant(D, end)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
    long lastGranted = end - S / 2;
    assertThat(b.acknowledgement(lastGranted + D.toNanos() - 1)).isEqualTo("uid-1/7"); // the last promise still runs
    assertThat(b.acknowledgement(lastGranted + D.toNanos())).isEqualTo("uid-1/" + round);
  }

  @Test
  void aNodeThatWasNotPromisingWhenRoundsCameBackHasNoTaper() {
    QuorumState b = learnedAt("b", 7, 0);
    assertThat(b.grant(D, 4 * S)).isNull();
    b.learned("uid-1", published(9, "a=h:1,b=h:2,c=h:3"), 4 * S + D.toNanos()); // the promise had run out
    assertThat(b.grant(D, 4 * S + D.toNanos() + 1)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
    // and a later first promise, once quiet again, starts without news: rounds coming back then taper anew
    long quietAgain = 4 * S + D.toNanos() + QuorumState.quiet(Duration.ofSeconds(3)).toNanos() + 1;
    assertThat(b.grant(D, quietAgain)).isNull();
    assertThat(b.acknowledgement(quietAgain)).isEqualTo("uid-1/9");
    b.learned("uid-1", published(10, "a=h:1,b=h:2,c=h:3"), quietAgain + S);
    assertThat(b.grant(D, quietAgain + 2 * S)).isNull();
    assertThat(b.acknowledgement(quietAgain + 2 * S)).isEqualTo("uid-1/9");
  }

  @Test
  void aGrantWhoseClockWasReadBeforeAnAcknowledgementOfANewerRoundDoesNotGoBackIntoTheTaper() {
    QuorumState b = learnedAt("b", 7, 0);
    assertThat(b.grant(D, 4 * S)).isNull(); // promising until 10 s
    b.learned("uid-1", published(20, "a=h:1,b=h:2,c=h:3"), 9 * S); // rounds are back: the taper runs
    long lapsed = 4 * S + D.toNanos();
    assertThat(b.acknowledgement(lapsed)).isEqualTo("uid-1/20"); // a renewal reports the new round...
    // ...while a peer's request read the clock a moment before and only now gets its turn: a promise run that
    // reported round 20 must not be taken up again with round 7 frozen (review of the taper)
    assertThat(b.grant(D, lapsed - 1)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
    assertThat(b.acknowledgement(lapsed + 1)).isEqualTo("uid-1/20");
  }

  @Test
  void aRestartedAgentKeepingItsPredecessorsPromiseGetsNoTaperFromTheFirstRoundItLearns(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path run) throws Exception {
    PromiseFile file = new PromiseFile(run.resolve("promises"), "boot-1");
    file.save(10 * S, "uid-1/7");
    QuorumState restarted = new QuorumState("b", 5 * S, file.load(), file);
    restarted.learned("uid-1", published(30, "a=h:1,b=h:2,c=h:3"), 6 * S);
    assertThat(restarted.acknowledgement(6 * S)).isEqualTo("uid-1/7");
    // else an agent crash-looping inside its promise would re-arm the taper, and put off fencing elsewhere, each time
    assertThat(restarted.grant(D, 6 * S)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
  }

  @Test
  void aSecondPromiseKeepsTheRoundFrozenFirstAndLengthensThePromise() {
    QuorumState b = learnedAt("b", 7, 0);
    b.grant(D, 4 * S);
    b.grant(D, 8 * S);
    assertThat(b.acknowledgement(13 * S)).isEqualTo("uid-1/7");
    assertThat(b.promising(14 * S - 1)).isTrue();
  }

  @Test
  void aConfigMapMadeAgainStartsANewCounterWhoseRoundsAreNewsWhateverTheirNumbers() {
    QuorumState b = learnedAt("b", 700, 0);
    assertThat(b.refusal(4 * S)).isNull();
    b.learned("uid-2", published(1, "a=h:1,b=h:2,c=h:3"), 4 * S);
    assertThat(b.refusal(5 * S)).isEqualTo(QuorumState.Refusal.NOT_QUIET);
    assertThat(b.acknowledgement(5 * S)).isEqualTo("uid-2/1");
  }

  @Test
  void aStartedAgentAcknowledgesNothingUntilAnyPromiseOfItsPredecessorHasRunOut() {
    QuorumState b = new QuorumState("b", 0);
    b.learned("uid-1", published(7, "a=h:1,b=h:2,c=h:3"), 0);
    assertThat(b.acknowledgement(10 * S)).isNull();
    assertThat(b.acknowledgement(10_200_000_001L)).isEqualTo("uid-1/7");
    assertThat(new QuorumState("c", 0).acknowledgement(60 * S)).as("nothing learned").isNull();
  }

  @Test
  void aRestartedAgentKeepsItsPredecessorsPromisesFromTheRunDirectoryAndOtherwiseAcknowledgesAtOnce(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path run) {
    PromiseFile file = new PromiseFile(run.resolve("promises"), "boot-1");
    assertThat(file.load()).isEqualTo(PromiseFile.Loaded.NONE);
    QuorumState first = new QuorumState("b", 0, file.load(), file);
    first.learned("uid-1", published(7, "a=h:1,b=h:2,c=h:3"), 0);
    assertThat(first.acknowledgement(S)).as("never promised: no wait after a start").isEqualTo("uid-1/7");
    assertThat(first.grant(D, 4 * S)).isNull();

    QuorumState second = new QuorumState("b", 5 * S, file.load(), file);
    second.learned("uid-1", published(9, "a=h:1,b=h:2,c=h:3"), 5 * S);
    assertThat(second.acknowledgement(5 * S)).as("the promise given before the restart holds").isEqualTo("uid-1/7");
    assertThat(second.acknowledgement(10 * S)).isEqualTo("uid-1/9");

    PromiseFile afterReboot = new PromiseFile(run.resolve("promises"), "boot-2");
    assertThat(afterReboot.load().unknown()).as("another boot: the monotonic clock started again").isTrue();
    QuorumState third = new QuorumState("b", 0, afterReboot.load(), afterReboot);
    third.learned("uid-1", published(9, "a=h:1,b=h:2,c=h:3"), 0);
    assertThat(third.acknowledgement(10 * S)).isNull();
    assertThat(third.acknowledgement(10_200_000_001L)).isEqualTo("uid-1/9");
  }

  @Test
  void aPromiseThatCannotBeRecordedIsNotGiven(@org.junit.jupiter.api.io.TempDir java.nio.file.Path run)
      throws java.io.IOException {
    java.nio.file.Path notADirectory = java.nio.file.Files.writeString(run.resolve("file"), "x");
    PromiseFile file = new PromiseFile(notADirectory.resolve("promises"), "boot-1");
    QuorumState b = new QuorumState("b", -60 * S, PromiseFile.Loaded.NONE, file);
    b.learned("uid-1", published(7, "a=h:1,b=h:2,c=h:3"), 0);
    assertThat(b.grant(D, 4 * S)).isEqualTo(QuorumState.Refusal.NOT_RECORDED);
    assertThat(b.promising(4 * S)).isFalse();
  }

  @Test
  void noPromiseIsLongerThanARestartedAgentWaits() {
    QuorumState b = learnedAt("b", 7, 0);
    assertThat(b.grant(Duration.ofSeconds(11), 4 * S)).isEqualTo(QuorumState.Refusal.TOO_LONG);
    assertThat(b.promising(4 * S)).isFalse();
  }

  @Test
  void aMajorityOfTheSetItselfIncludedExtendsTheRightFromWhenItAsked() {
    QuorumState a = learnedAt("a", 7, 0);
    long renewal = 6 * S;
    QuorumState.Ask ask = a.ask(renewal, 4 * S);
    assertThat(ask.peers()).containsOnlyKeys("b", "c");
    assertThat(a.answered(ask, D, List.of("b"), 6 * S, 5 * S)).isTrue();
    assertThat(a.coveredUntil()).isEqualTo(QuorumState.usableUntil(4 * S, D));
    assertThat(a.coveredUntil()).isEqualTo(4 * S + 6 * S - 120_000_000L - 200_000_000L);
  }

  @Test
  void withoutAMajorityNothingIsExtended() {
    QuorumState a = new QuorumState("a", STARTED);
    a.learned("uid-1", published(7, "a=h:1,b=h:2,c=h:3,d=h:4,e=h:5"), 0);
    QuorumState.Ask ask = a.ask(6 * S, 4 * S);
    assertThat(a.answered(ask, D, List.of("b"), 6 * S, 5 * S)).isFalse();
    assertThat(a.answered(ask, D, List.of("b", "x", "y"), 6 * S, 5 * S)).as("nodes outside the set count for nothing")
        .isFalse();
    assertThat(a.answered(ask, D, List.of("b", "c"), 6 * S, 5 * S)).isTrue();
  }

  @Test
  void noAskOnceTheRightRanOutCoverageNeverRestartsAfterAGap() {
    QuorumState a = learnedAt("a", 7, 0);
    assertThat(a.ask(6 * S, 6 * S)).isNull();
    QuorumState.Ask ask = a.ask(6 * S, 5 * S);
    a.answered(ask, D, List.of("b", "c"), 6 * S, 5 * S);
    long covered = a.coveredUntil();
    assertThat(a.ask(6 * S, covered - 1)).as("promises keep it going while they hold").isNotNull();
    assertThat(a.ask(6 * S, covered)).isNull();
  }

  @Test
  void answersThatComeAfterTheRightRanOutExtendNothing() {
    QuorumState a = learnedAt("a", 7, 0);
    QuorumState.Ask ask = a.ask(6 * S, 5 * S);
    assertThat(a.answered(ask, D, List.of("b", "c"), 6 * S, 6 * S)).as("the renewal's right ended meanwhile").isFalse();
    assertThat(a.coveredUntil()).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void aNodeOutsideItsOwnSetNeitherAsksNorCountsItself() {
    QuorumState x = learnedAt("x", 7, 0);
    assertThat(x.ask(6 * S, 4 * S)).isNull();
  }

  @Test
  void aFenceDropsTheCoverageAndAnAskInFlightThenExtendsNothing() {
    QuorumState a = learnedAt("a", 7, 0);
    QuorumState.Ask ask = a.ask(6 * S, 4 * S);
    a.answered(ask, D, List.of("b"), 6 * S, 5 * S);
    QuorumState.Ask inFlight = a.ask(6 * S, 5 * S);
    a.dropCoverage();
    assertThat(a.coveredUntil()).isEqualTo(Long.MIN_VALUE);
    assertThat(a.answered(inFlight, D, List.of("b", "c"), 6 * S, 5 * S)).isFalse();
    assertThat(a.coveredUntil()).isEqualTo(Long.MIN_VALUE);
  }
}
