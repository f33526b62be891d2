package io.lockwarden.operator.domain;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.testing.TestObjects;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementTest {
  @Test
  void aSingleNodeIsPlacedEvenBeforeItIsAlive() {
    SupervisedDomain domain = TestObjects.domain("ns", "vm", "node-a");

    assertThat(Placement.choose(domain, n -> false, n -> false, false)).isEqualTo("node-a");
  }

  @Test
  void candidatesGoToTheFirstLiveOneInOrder() {
    SupervisedDomain domain = candidates("node-a", "node-b", "node-c");

    assertThat(Placement.choose(domain, Set.of("node-b", "node-c")::contains, n -> false, false)).isEqualTo("node-b");
    assertThat(Placement.choose(domain, n -> false, n -> false, false)).isNull();
  }

  @Test
  void staysPutWhileItsNodeIsNotDead() {
    SupervisedDomain domain = placedOn(candidates("node-a", "node-b"), "node-b");

    assertThat(Placement.choose(domain, Set.of("node-a")::contains, n -> false, true)).isEqualTo("node-b");
  }

  @Test
  void failsOverFromADeadNodeToTheNextLiveCandidate() {
    SupervisedDomain domain = placedOn(candidates("node-a", "node-b", "node-c"), "node-a");

    assertThat(Placement.choose(domain, Set.of("node-c")::contains, "node-a"::equals, true)).isEqualTo("node-c");
  }

  @Test
  void withManualFailoverOrNoLiveCandidateItStaysOnTheDeadNode() {
    SupervisedDomain manual = placedOn(candidates("node-a", "node-b"), "node-a");
    manual.getSpec().placement.failover = FailoverPolicy.Manual;
    assertThat(Placement.choose(manual, Set.of("node-b")::contains, "node-a"::equals, true)).isEqualTo("node-a");

    SupervisedDomain nowhere = placedOn(candidates("node-a", "node-b"), "node-a");
    assertThat(Placement.choose(nowhere, n -> false, "node-a"::equals, true)).isEqualTo("node-a");
  }

  @Test
  void aChangedNodeNameMovesADomainThatHoldsNothing() {
    SupervisedDomain domain = placedOn(TestObjects.domain("ns", "vm", "node-typo"), "node-old");

    assertThat(Placement.choose(domain, n -> true, n -> false, false)).isEqualTo("node-typo");
    assertThat(Placement.choose(domain, n -> true, n -> false, true)).as("not while it holds grants there")
        .isEqualTo("node-old");
  }

  private static SupervisedDomain candidates(String... nodes) {
    SupervisedDomain domain = TestObjects.domain("ns", "vm", null);
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = List.of(nodes);
    domain.getSpec().placement.failover = FailoverPolicy.Automatic;
    return domain;
  }

  private static SupervisedDomain placedOn(SupervisedDomain domain, String node) {
    domain.setStatus(new SupervisedDomainStatus());
    domain.getStatus().node = node;
    return domain;
  }

  @Test
  void anAttachedDomainRunsWhereLibvirtAcquiredIfThePlacementAllowsIt() {
    SupervisedDomain domain = TestObjects.domain("ns", "vm", "node-a");
    domain.getSpec().placement = null;
    domain.getSpec().attach = new io.lockwarden.api.v1alpha1.AttachSpec();
    assertThat(Placement.choose(domain, n -> true, n -> false, false)).isNull();

    domain.getSpec().attach.node = "node-b";
    assertThat(Placement.choose(domain, n -> false, n -> false, false)).isEqualTo("node-b");

    domain.getSpec().placement = candidates("node-a", "node-c").getSpec().placement;
    assertThat(Placement.choose(domain, n -> true, n -> false, false)).isNull();
  }

  @Test
  void anAttachedDomainMovesOnlyOnceItHoldsNothingWhereItWas() {
    SupervisedDomain domain = TestObjects.domain("ns", "vm", "node-a");
    domain.getSpec().placement = null;
    domain.getSpec().attach = new io.lockwarden.api.v1alpha1.AttachSpec();
    domain.getSpec().attach.node = "node-b";
    placedOn(domain, "node-a");

    assertThat(Placement.choose(domain, n -> true, n -> false, true)).isEqualTo("node-a");
    assertThat(Placement.choose(domain, n -> true, n -> false, false)).isEqualTo("node-b");
  }
}
