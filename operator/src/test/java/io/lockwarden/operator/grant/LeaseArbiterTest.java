package io.lockwarden.operator.grant;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.api.v1alpha1.AccessMode.ReadOnly;
import static io.lockwarden.api.v1alpha1.AccessMode.Shared;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseSpec;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class LeaseArbiterTest {
  private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

  @ParameterizedTest(name = "{0} held, {1} asked: granted={2}")
  @CsvSource({
      "Exclusive, Exclusive, false", "Exclusive, Shared, false", "Exclusive, ReadOnly, false",
      "Shared, Exclusive, false", "Shared, Shared, true", "Shared, ReadOnly, true",
      "ReadOnly, Exclusive, false", "ReadOnly, Shared, true", "ReadOnly, ReadOnly, true"})
  void followsTheModeMatrix(AccessMode held, AccessMode asked, boolean granted) {
    DiskLease lease = decided(lease(), request("a", held));

    Arbitration second = LeaseArbiter.decide(lease, List.of(request("a", held), request("b", asked)), h -> null, null, NOW);

    assertThat(second.granted()).hasSize(granted ? 1 : 0);
    assertThat(second.status().waiting).hasSize(granted ? 0 : 1);
  }

  @Test
  void everyGrantTakesTheNextEpochAndReleasesKeepIt() {
    DiskLease lease = decided(lease(), request("a", Shared), request("b", Shared), request("c", ReadOnly));
    assertThat(lease.getStatus().holders).extracting(h -> h.epoch).containsExactly(1L, 2L, 3L);
    assertThat(lease.getStatus().epoch).isEqualTo(3L);

    Arbitration release = LeaseArbiter.decide(lease, List.of(), h -> "Released", null, NOW);

    assertThat(release.status().holders).isEmpty();
    assertThat(release.status().epoch).isEqualTo(3L);
    assertThat(release.status().state).isEqualTo(LeaseState.Free);
    lease.setStatus(release.status());
    assertThat(decided(lease, request("d", Exclusive)).getStatus().holders.get(0).epoch).isEqualTo(4L);
  }

  @Test
  void aNewLeaseOfAPathGrantsAboveTheLastEpochOfItsPredecessor() {
    Arbitration first = LeaseArbiter.decide(lease(), List.of(request("a", Shared), request("b", Shared)), h -> null,
        h -> null, null, 7, NOW);

    assertThat(first.granted()).extracting(h -> h.epoch).containsExactly(8L, 9L);
    assertThat(first.status().epoch).isEqualTo(9L);

    // Once past the floor, the lease's own record rules: the floor never pulls an epoch back.
    DiskLease lease = lease();
    lease.setStatus(first.status());
    Arbitration next = LeaseArbiter.decide(lease, List.of(request("a", Shared), request("b", Shared),
        request("c", Shared)), h -> null, h -> null, null, 7, NOW);
    assertThat(next.granted()).extracting(h -> h.epoch).containsExactly(10L);
  }

  @Test
  void servesFirstComeFirstServedWithoutBarging() {
    DiskLease lease = decided(lease(), request("reader", Shared));
    // An Exclusive request queues behind the reader; a later Shared one, compatible with the reader, must not pass it.
    lease = decided(lease, request("reader", Shared), request("writer", Exclusive));
    Arbitration third = LeaseArbiter.decide(lease,
        List.of(request("reader", Shared), request("writer", Exclusive), request("late", Shared)), h -> null, null, NOW);

    assertThat(third.granted()).isEmpty();
    assertThat(third.status().waiting).extracting(w -> w.domain).containsExactly("ns/writer", "ns/late");
    assertThat(third.status().waiting.get(0).reason).isEqualTo("HeldBy ns/reader (Shared)");
    assertThat(third.status().waiting.get(1).reason).isEqualTo("QueuedBehindEarlierRequest");

    lease.setStatus(third.status());
    Arbitration afterRelease = LeaseArbiter.decide(lease,
        List.of(request("writer", Exclusive), request("late", Shared)), h -> "Released", null, NOW);
    assertThat(afterRelease.granted()).extracting(h -> h.domain).containsExactly("ns/writer");
    assertThat(afterRelease.status().waiting).extracting(w -> w.domain).containsExactly("ns/late");
  }

  @Test
  void anEarlierWaiterKeepsItsPlaceWhateverOrderTheRequestsComeIn() {
    DiskLease lease = decided(lease(), request("holder", Exclusive));
    lease = decided(lease, request("holder", Exclusive), request("first", Exclusive));
    lease = decided(lease, request("second", Exclusive), request("first", Exclusive), request("holder", Exclusive));

    assertThat(lease.getStatus().waiting).extracting(w -> w.domain).containsExactly("ns/first", "ns/second");
  }

  @Test
  void aWaiterThatStopsAskingLeavesTheQueue() {
    DiskLease lease = decided(lease(), request("holder", Exclusive), request("gone", Exclusive));
    assertThat(lease.getStatus().waiting).hasSize(1);

    lease = decided(lease, request("holder", Exclusive));

    assertThat(lease.getStatus().waiting).isEmpty();
    assertThat(lease.getStatus().conditions).anySatisfy(c -> {
      assertThat(c.getType()).isEqualTo("Contended");
      assertThat(c.getStatus()).isEqualTo("False");
    });
  }

  @Test
  void honoursMaxSharedHolders() {
    DiskLease lease = lease();
    lease.getSpec().maxSharedHolders = 2;

    lease = decided(lease, request("a", Shared), request("b", ReadOnly), request("c", Shared));

    assertThat(lease.getStatus().holders).extracting(h -> h.domain).containsExactly("ns/a", "ns/b");
    assertThat(lease.getStatus().waiting.get(0).reason).isEqualTo("MaxSharedHolders 2 reached");
  }

  @Test
  void neverQueuesADomainOutsideTheAllowedNamespaces() {
    DiskLease lease = lease();
    lease.getSpec().allowedNamespaces = List.of("vms");

    lease = decided(lease, new LeaseRequest("other/x", "uid-x", "other", "node-a", Exclusive),
        new LeaseRequest("vms/y", "uid-y", "vms", "node-a", Exclusive));

    assertThat(lease.getStatus().holders).extracting(h -> h.domain).containsExactly("vms/y");
    assertThat(lease.getStatus().waiting).isEmpty();
  }

  @Test
  void aBlockedLeaseGrantsNothingAndSaysWhy() {
    Arbitration arbitration = LeaseArbiter.decide(lease(), List.of(request("a", Shared)), h -> null, "DuplicatePath", NOW);

    assertThat(arbitration.granted()).isEmpty();
    assertThat(arbitration.status().waiting.get(0).reason).isEqualTo("DuplicatePath");
    assertThat(arbitration.status().conditions).anySatisfy(c -> {
      assertThat(c.getType()).isEqualTo("Ready");
      assertThat(c.getStatus()).isEqualTo("False");
      assertThat(c.getReason()).isEqualTo("DuplicatePath");
    });
  }

  @Test
  void aRevokedHolderMakesRoomInTheSameRound() {
    DiskLease lease = decided(lease(), new LeaseRequest("ns/vm", "uid-vm", "ns", "node-a", Exclusive));

    // The domain failed over: node-a is dead, and it asks again from node-b.
    Arbitration failover = LeaseArbiter.decide(lease, List.of(new LeaseRequest("ns/vm", "uid-vm", "ns", "node-b", Exclusive)),
        h -> "node-a".equals(h.node) ? "NodeDead" : null, null, NOW);

    assertThat(failover.removed()).extracting(r -> r.reason()).containsExactly("NodeDead");
    assertThat(failover.status().holders).singleElement().satisfies(h -> {
      assertThat(h.node).isEqualTo("node-b");
      assertThat(h.epoch).isEqualTo(2L);
    });
  }

  @Test
  void aRequestThatMayNotWaitIsGrantedAtOnceOrNotQueued() {
    DiskLease lease = decided(lease(), request("holder", Shared));
    LeaseRequest hotPlug = new LeaseRequest("ns/hot", "uid-hot", "ns", "node-a", Exclusive, false);

    Arbitration blocked = LeaseArbiter.decide(lease, List.of(request("holder", Shared), hotPlug), h -> null, null, NOW);
    assertThat(blocked.granted()).isEmpty();
    assertThat(blocked.status().waiting).as("it never queues").isEmpty();

    LeaseRequest reader = new LeaseRequest("ns/hot", "uid-hot", "ns", "node-a", ReadOnly, false);
    Arbitration free = LeaseArbiter.decide(lease, List.of(request("holder", Shared), reader), h -> null, null, NOW);
    assertThat(free.granted()).extracting(h -> h.domain).containsExactly("ns/hot");
  }

  @Test
  void aConditionKeepsItsTransitionTimeWhileItsStatusHolds() {
    DiskLease lease = decided(lease(), request("a", Exclusive));
    String firstTime = lease.getStatus().conditions.get(0).getLastTransitionTime();

    Arbitration later = LeaseArbiter.decide(lease, List.of(request("a", Exclusive)), h -> null, null, NOW.plusSeconds(60));

    assertThat(later.status().conditions.get(0).getLastTransitionTime()).isEqualTo(firstTime);
  }

  /** Random rounds of requests and releases: the holders are always compatible, epochs unique and growing. */
  @Test
  void randomRoundsNeverProduceIncompatibleHoldersOrReusedEpochs() {
    Random random = new Random(42);
    for (int run = 0; run < 200; run++) {
      DiskLease lease = lease();
      if (random.nextBoolean()) {
        lease.getSpec().maxSharedHolders = 1 + random.nextInt(3);
      }
      Set<Long> epochsSeen = new java.util.HashSet<>();
      long lastEpoch = 0;
      for (int round = 0; round < 30; round++) {
        List<LeaseRequest> requests = new ArrayList<>();
        for (int d = 0; d < 8; d++) {
          if (random.nextInt(3) > 0) {
            requests.add(request("d" + d, AccessMode.values()[(d + run) % 3]));
          }
        }
        Arbitration arbitration = LeaseArbiter.decide(lease, requests, h -> random.nextInt(4) == 0 ? "Released" : null,
            null, NOW);
        DiskLeaseStatus status = arbitration.status();
        assertCompatible(status.holders);
        if (lease.getSpec().maxSharedHolders != null && status.holders.stream().noneMatch(h -> h.mode == Exclusive)) {
          assertThat(status.holders.size()).isLessThanOrEqualTo(lease.getSpec().maxSharedHolders);
        }
        assertThat(status.epoch).isGreaterThanOrEqualTo(lastEpoch);
        for (LeaseHolder granted : arbitration.granted()) {
          assertThat(epochsSeen.add(granted.epoch)).as("epoch %d granted twice", granted.epoch).isTrue();
          assertThat(granted.epoch).isGreaterThan(lastEpoch);
        }
        lastEpoch = status.epoch;
        lease.setStatus(status);
      }
    }
  }

  private static void assertCompatible(List<LeaseHolder> holders) {
    for (LeaseHolder a : holders) {
      for (LeaseHolder b : holders) {
        if (a != b) {
          assertThat(a.mode.compatibleWith(b.mode)).as("%s and %s hold together", a.domain, b.domain).isTrue();
        }
      }
    }
    assertThat(holders.stream().map(h -> h.uid).collect(Collectors.toSet())).hasSameSizeAs(holders);
  }

  private static DiskLease decided(DiskLease lease, LeaseRequest... requests) {
    lease.setStatus(LeaseArbiter.decide(lease, List.of(requests), h -> null, null, NOW).status());
    return lease;
  }

  private static LeaseRequest request(String name, AccessMode mode) {
    return new LeaseRequest("ns/" + name, "uid-" + name, "ns", "node-a", mode);
  }

  private static DiskLease lease() {
    DiskLease lease = new DiskLease();
    lease.setMetadata(new ObjectMetaBuilder().withName("disk").withGeneration(1L).build());
    lease.setSpec(new DiskLeaseSpec());
    lease.getSpec().path = "/srv/disk.img";
    return lease;
  }
}
