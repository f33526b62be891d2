package io.lockwarden.operator.handoff;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.MigrationRequest;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The operator's migration steps as a pure function: every row of the protocol and of its failure table. */
class HandOffTest {
  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
  private static final Predicate<String> NONE = n -> false;
  /** The migration of {@link #status}; an earlier one between the same nodes started at {@link #EARLIER}. */
  private static final String STARTED = "2026-11-25T09:59:00Z";
  private static final String EARLIER = "2026-11-25T09:58:00Z";

  @Test
  void aRequestForALiveTargetStartsPreparing() {
    HandOff.Step step = HandOff.next(facts(request("b"), null, "a", Set.of(), NONE), NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.PREPARING);
    assertThat(step.status().source).isEqualTo("a");
    assertThat(step.status().target).isEqualTo("b");
    assertThat(step.status().mode).isEqualTo(MigrationMode.Warm);
    assertThat(step.status().requestGeneration).isEqualTo(7L);
    assertThat(step.node()).isNull();
  }

  @Test
  void aDeadTargetOrOneOutsideThePlacementIsRefused() {
    HandOff.Step dead = HandOff.next(new HandOff.Facts(request("b"), null, "a", DomainPhase.Running, 7, List.of(),
        n -> !n.equals("b"), NONE, NONE, NONE), NOW);
    HandOff.Step outside = HandOff.next(new HandOff.Facts(request("c"), null, "a", DomainPhase.Running, 7,
        List.of("a", "b"), n -> true, NONE, NONE, NONE), NOW);

    assertThat(dead.status().phase).isEqualTo(MigrationStatus.FAILED);
    assertThat(dead.status().message).contains("not alive");
    assertThat(outside.status().phase).isEqualTo(MigrationStatus.FAILED);
    assertThat(outside.status().message).contains("spec.placement.nodes");
  }

  @Test
  void theSameRequestIsNotStartedTwice() {
    MigrationStatus done = status(MigrationStatus.COMPLETED);
    done.requestGeneration = 7L;

    HandOff.Step step = HandOff.next(facts(request("b"), done, "a", Set.of(), NONE), NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.COMPLETED);
    assertThat(step.event()).isNull();
  }

  @Test
  void aReadyTargetLeadsToTheHandOff() {
    MigrationStatus preparing = status(MigrationStatus.PREPARING);
    preparing.incoming = incoming("b");
    preparing.incoming.ready = true;

    HandOff.Step ready = HandOff.next(facts(request("b"), preparing, "a", Set.of(), NONE), NOW);
    HandOff.Step handingOff = HandOff.next(facts(request("b"), ready.status(), "a", Set.of(), NONE), NOW);

    assertThat(ready.status().phase).isEqualTo(MigrationStatus.TARGET_READY);
    assertThat(handingOff.status().phase).isEqualTo(MigrationStatus.HANDING_OFF);
  }

  @Test
  void removingTheRequestBeforeTheHandOffCancels() {
    HandOff.Step step = HandOff.next(facts(null, status(MigrationStatus.TARGET_READY), "a", Set.of(), NONE), NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.CANCELLED);
    assertThat(step.result()).isEqualTo("cancelled");
  }

  @Test
  void removingTheRequestDuringTheHandOffChangesNothing() {
    HandOff.Step step = HandOff.next(facts(null, status(MigrationStatus.HANDING_OFF), "a", Set.of(), NONE), NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.HANDING_OFF);
  }

  @Test
  void eitherNodeDyingWhilePreparingCancels() {
    HandOff.Step target = HandOff.next(facts(request("b"), status(MigrationStatus.PREPARING), "a", Set.of("b"), NONE),
        NOW);
    HandOff.Step source = HandOff.next(facts(request("b"), status(MigrationStatus.PREPARING), "a", Set.of("a"), NONE),
        NOW);

    assertThat(target.status().phase).isEqualTo(MigrationStatus.CANCELLED);
    assertThat(target.status().message).contains("target node b died");
    assertThat(source.status().phase).isEqualTo(MigrationStatus.CANCELLED);
    assertThat(source.status().message).contains("source node a died");
    assertThat(source.node()).as("placement is left to the usual fail-over").isNull();
  }

  @Test
  void theSourceDyingBeforeItReleasedFailsWithoutMovingAnything() {
    HandOff.Step step = HandOff.next(facts(request("b"), status(MigrationStatus.HANDING_OFF), "a", Set.of("a"), NONE),
        NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.FAILED);
    assertThat(step.status().message).contains("before it released");
    assertThat(step.node()).isNull();
    assertThat(HandOff.moveTo(step.status(), "a", "a", Set.of("a")::contains)).isNull();
  }

  @Test
  void theSourceDyingAfterItReleasedStillHandsOffToTheTarget() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.outgoing = outgoing("a", 1_000L);
    Predicate<String> sourceDead = Set.of("a")::contains;

    assertThat(HandOff.moveTo(m, "a", "a", sourceDead)).isEqualTo("b");
    HandOff.Step moved = HandOff.next(facts(request("b"), m, "a", Set.of("a"), n -> n.equals("b")), NOW);
    assertThat(moved.status().phase).isEqualTo(MigrationStatus.HANDING_OFF);
    assertThat(moved.node()).isEqualTo("b");

    m.incoming = incoming("b");
    m.incoming.runningAtMillis = 1_042L;
    HandOff.Step done = HandOff.next(new HandOff.Facts(request("b"), m, "b", DomainPhase.Running, 7, List.of(),
        n -> !n.equals("a"), sourceDead, n -> n.equals("b"), n -> n.equals("b")), NOW);
    assertThat(done.status().phase).isEqualTo(MigrationStatus.COMPLETED);
    assertThat(done.status().handoffMillis).isEqualTo(42L);
    assertThat(done.result()).isEqualTo("completed");
  }

  @Test
  void noGrantMovesBeforeTheSourceReleased() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);

    assertThat(HandOff.moveTo(m, "a", "a", NONE)).isNull();
    m.outgoing = outgoing("a", null);
    assertThat(HandOff.moveTo(m, "a", "a", NONE)).isNull();
    m.outgoing = outgoing("c", 1_000L); // a report about another node is not the source's release
    assertThat(HandOff.moveTo(m, "a", "a", NONE)).isNull();
  }

  @Test
  void reportsAboutAnEarlierMigrationBetweenTheSameNodesCountForNothing() {
    // a -> b completed, b -> a was cancelled before b released, a -> b again: what a and b said the first time is
    // still in the status, under the same nodes.
    MigrationStatus preparing = status(MigrationStatus.PREPARING);
    preparing.incoming = incoming("b");
    preparing.incoming.startedAt = EARLIER;
    preparing.incoming.ready = true;
    preparing.incoming.runningAtMillis = 500L;
    MigrationStatus handingOff = status(MigrationStatus.HANDING_OFF);
    handingOff.outgoing = outgoing("a", 1_000L);
    handingOff.outgoing.startedAt = EARLIER;
    handingOff.incoming = preparing.incoming;

    assertThat(HandOff.next(facts(request("b"), preparing, "a", Set.of(), NONE), NOW).status().phase)
        .as("a stale ready is not the target prepared").isEqualTo(MigrationStatus.PREPARING);
    assertThat(HandOff.moveTo(handingOff, "a", "a", NONE)).as("a stale release is no proof: a may still write")
        .isNull();
    assertThat(HandOff.next(facts(request("b"), handingOff, "b", Set.of("a"), n -> true), NOW).status().phase)
        .as("the source died before it released this time").isEqualTo(MigrationStatus.FAILED);
    handingOff.outgoing.startedAt = STARTED;
    assertThat(HandOff.moveTo(handingOff, "a", "a", NONE)).isEqualTo("b");
  }

  @Test
  void aTargetThatCannotTakeALockRollsBackOnceItsSupervisorIsGone() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.outgoing = outgoing("a", 1_000L);
    m.incoming = incoming("b");
    m.incoming.failure = "byte 0 of /d is locked outside lockwarden";

    HandOff.Step failed = HandOff.next(facts(request("b"), m, "b", Set.of(), n -> n.equals("b")), NOW);
    assertThat(failed.status().phase).isEqualTo(MigrationStatus.FAILED);
    // The target never ran (it could not take a lock), so the grants may go back; with new epochs, to a fresh start.
    assertThat(failed.status().message).contains("rolled back to a with new grants").contains("locked outside")
        .contains("starts the domain afresh (the held process is not resumed)");
    assertThat(failed.node()).isEqualTo("a");

    MigrationStatus rolling = failed.status();
    rolling.incoming = m.incoming;
    assertThat(HandOff.moveTo(rolling, "b", "a", NONE)).as("the target's supervisor may still hold a lock").isNull();
    rolling.incoming.stopped = true;
    assertThat(HandOff.moveTo(rolling, "b", "a", NONE)).isEqualTo("a");
    assertThat(HandOff.moveTo(rolling, "b", "a", Set.of("a")::contains)).as("never to a dead node").isNull();
  }

  @Test
  void aTargetThatFailedBeforeAnyGrantMovedRollsBackToTheHeldSource() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.outgoing = outgoing("a", 1_000L);
    m.incoming = incoming("b");
    m.incoming.failure = "cannot start the incoming supervisor: disk full";

    HandOff.Step failed = HandOff.next(facts(request("b"), m, "a", Set.of(), NONE), NOW);

    assertThat(failed.status().message).isEqualTo("rolled back to a: the target cannot start the incoming supervisor:"
        + " disk full");
    assertThat(failed.node()).isEqualTo("a");
  }

  @Test
  void theTargetDyingBeforeAnyGrantMovedRollsBackToTheHeldSource() {
    // The source still holds every grant at the epoch it stopped under: resuming its held process is safe.
    HandOff.Step step = HandOff.next(facts(request("b"), status(MigrationStatus.HANDING_OFF), "a", Set.of("b"), NONE),
        NOW);

    assertThat(step.status().phase).isEqualTo(MigrationStatus.FAILED);
    assertThat(step.status().message).isEqualTo("rolled back to a: the target node died before any grant moved");
    assertThat(step.node()).isEqualTo("a");
  }

  /** MIG-6: the target may have taken every lock and run; the source's memory is then older than its disks. */
  @Test
  void theTargetDyingAfterAGrantMovedNeverPutsTheDomainBackOnTheHeldSource() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.outgoing = outgoing("a", 1_000L);
    m.incoming = incoming("b");
    m.incoming.ready = true;
    Predicate<String> someOnB = n -> n.equals("b"); // one of two grants moved: still placed on a
    HandOff.Step partly = HandOff.next(new HandOff.Facts(request("b"), m, "a", DomainPhase.Running, 7, List.of(),
        n -> !n.equals("b"), Set.of("b")::contains, NONE, someOnB), NOW);
    // every grant moved: placed on b, whose agent may have run the domain
    m.incoming.runningAtMillis = 1_042L;
    HandOff.Step fully = HandOff.next(new HandOff.Facts(request("b"), m, "b", DomainPhase.Running, 7, List.of(),
        n -> !n.equals("b"), Set.of("b")::contains, someOnB, someOnB), NOW);

    for (HandOff.Step step : List.of(partly, fully)) {
      assertThat(step.status().phase).isEqualTo(MigrationStatus.FAILED);
      assertThat(step.node()).as("placement is left to the dead-node path").isNull();
      assertThat(step.status().message).contains("died after grants had moved to it")
          .contains("the held process on a is never resumed").doesNotContain("rolled back");
      assertThat(step.result()).isEqualTo("failed");
      assertThat(HandOff.moveTo(step.status(), "b", "a", Set.of("b")::contains))
          .as("b's grants are revoked as a dead node's, not handed back").isNull();
    }
  }

  @Test
  void noGrantMovesForwardToATargetThatReportedAFailure() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.outgoing = outgoing("a", 1_000L);
    m.incoming = incoming("b");
    assertThat(HandOff.moveTo(m, "a", "a", NONE)).isEqualTo("b");

    m.incoming.failure = "byte 0 of /d is locked outside lockwarden";
    assertThat(HandOff.moveTo(m, "a", "a", NONE)).as("it will not take over: a grant there only moves back later")
        .isNull();
  }

  @Test
  void theOperatorsPartNeverCarriesTheAgentsSides() {
    MigrationStatus m = status(MigrationStatus.HANDING_OFF);
    m.incoming = incoming("b");
    m.outgoing = outgoing("a", 1L);

    MigrationStatus part = HandOff.operatorPart(m);

    assertThat(part.incoming).isNull();
    assertThat(part.outgoing).isNull();
    assertThat(part.phase).isEqualTo(MigrationStatus.HANDING_OFF);
  }

  /** Facts where a node holds some of the domain's grants only if it holds all of them. */
  private static HandOff.Facts facts(MigrationRequest request, MigrationStatus current, String placed,
      Set<String> dead, Predicate<String> holdsEveryGrantOn) {
    return new HandOff.Facts(request, current, placed, DomainPhase.Running, 7, List.of(), n -> !dead.contains(n),
        dead::contains, holdsEveryGrantOn, holdsEveryGrantOn);
  }

  private static MigrationRequest request(String target) {
    MigrationRequest r = new MigrationRequest();
    r.targetNode = target;
    return r;
  }

  private static MigrationStatus status(String phase) {
    MigrationStatus m = new MigrationStatus();
    m.phase = phase;
    m.source = "a";
    m.target = "b";
    m.mode = MigrationMode.Warm;
    m.requestGeneration = 6L;
    m.startedAt = STARTED;
    return m;
  }

  /** A report by {@code node} about the migration of {@link #status}. */
  private static MigrationStatus.Incoming incoming(String node) {
    MigrationStatus.Incoming in = new MigrationStatus.Incoming();
    in.node = node;
    in.startedAt = STARTED;
    return in;
  }

  private static MigrationStatus.Outgoing outgoing(String node, Long releasedAt) {
    MigrationStatus.Outgoing out = new MigrationStatus.Outgoing();
    out.node = node;
    out.startedAt = STARTED;
    out.releasedAtMillis = releasedAt;
    return out;
  }
}
