package io.lockwarden.operator.it;

import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainLeaseState;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The arbitration invariant under the worst the operator side can do: two operators deciding at once, with no leader
 * election, and an operator SIGKILLed in the middle of a burst. An independent checker watches every DiskLease
 * version the API server persists.
 */
@ExtendWith(ControlPlaneExtension.class)
class RacingOperatorsIT {
  private static final Pattern WRITE_CONFLICTS = Pattern.compile("lockwarden_conflicts_total\\{reason=\"WriteConflict\"\\} (\\d+)");
  private static Cluster cluster;
  private static LeaseHistory history;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    history = LeaseHistory.record(controlPlane.admin());
    cluster = Cluster.start(controlPlane, "race", Map.of(), "a", "b", "c");
  }

  @AfterAll
  static void stop() {
    history.close();
    cluster.close();
  }

  @Test
  void twoOperatorsWithoutLeaderElectionNeverPersistIncompatibleHolders() {
    OperatorProcess second = cluster.startOperator("race-second");
    Random random = new Random(2026);
    List<String> files = List.of("r1.img", "r2.img", "r3.img", "r4.img", "r5.img");
    List<String> vms = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String vm = uniqueName("race");
      vms.add(vm);
      String file = files.get(random.nextInt(files.size()));
      AccessMode mode = AccessMode.values()[random.nextInt(3)];
      cluster.create(vm, List.of("a", "b", "c").get(random.nextInt(3)), disk(cluster.path(file), mode));
    }
    // Churn: stop and start domains at random while both operators decide; each edit is one API round trip.
    for (int i = 0; i < 300; i++) {
      cluster.setRunning(vms.get(random.nextInt(vms.size())), random.nextBoolean());
    }
    vms.forEach(vm -> cluster.setRunning(vm, false));
    Await.until("every lease free", Duration.ofMinutes(2), () -> files.stream()
        .allMatch(f -> cluster.holders(LeaseNames.autoName(cluster.path(f))).isEmpty()));

    assertThat(history.versionsSeen()).isGreaterThan(100);
    assertThat(history.violations()).isEmpty();
    long conflicts = writeConflicts(cluster.operator()) + writeConflicts(second);
    assertThat(conflicts).as("the two operators really raced (409s seen)").isGreaterThan(0);
    for (OperatorProcess operator : List.of(cluster.operator(), second)) {
      assertThat(operator.get("/metrics")).contains("lockwarden_split_brain_detected_total 0.0");
    }
    second.close();
  }

  /**
   * Two operators deciding at once while automatic leases are deleted and made again: one replica's cleanup gives up
   * a path's claim while the other may still be deciding on the lease. Each new lease of a path grants above the last
   * epoch of the one before; the history checks that across every version it sees.
   */
  @Test
  void twoOperatorsKeepAPathsEpochsGrowingWhileItsLeaseIsDeletedAndMadeAgain() {
    OperatorProcess second = cluster.startOperator("race-again");
    List<String> paths = List.of("again1.img", "again2.img", "again3.img", "again4.img").stream()
        .map(cluster::path).toList();
    Map<String, Long> lastEpoch = new HashMap<>();
    for (int round = 1; round <= 3; round++) {
      List<String> vms = new ArrayList<>();
      for (String path : paths) {
        String vm = uniqueName("again");
        vms.add(vm);
        cluster.create(vm, List.of("a", "b", "c").get(round % 3), disk(path, AccessMode.Exclusive));
      }
      for (int i = 0; i < paths.size(); i++) {
        long epoch = cluster.awaitHolder(LeaseNames.autoName(paths.get(i)), vms.get(i)).epoch;
        Long before = lastEpoch.put(paths.get(i), epoch);
        assertThat(epoch).as("round %d, %s", round, paths.get(i)).isGreaterThan(before == null ? 0 : before);
      }
      vms.forEach(vm -> cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).delete());
      Await.until("round " + round + ": every automatic lease deleted", Duration.ofMinutes(1),
          () -> paths.stream().allMatch(p -> cluster.lease(LeaseNames.autoName(p)) == null));
    }
    assertThat(history.violations()).isEmpty();
    second.close();
  }

  /** Kill the operator while it grants 60 leases; its successor finishes: every lease granted once, at epoch 1. */
  @Test
  void anOperatorKilledMidBurstLosesAndDuplicatesNoGrant() {
    List<String> vms = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      String vm = uniqueName("burst");
      vms.add(vm);
      cluster.create(vm, List.of("a", "b", "c").get(i % 3), disk(cluster.path(vm + ".img"), AccessMode.Exclusive));
    }
    Await.until("some of the burst granted", Duration.ofSeconds(60), () -> vms.stream().filter(vm -> {
      DiskLease lease = cluster.lease(LeaseNames.autoName(cluster.path(vm + ".img")));
      return lease != null && lease.getStatus() != null && !lease.getStatus().holders.isEmpty();
    }).count() >= 5);
    cluster.operator().kill();
    cluster.startOperator("race-successor");

    Await.until("all 60 granted", Duration.ofMinutes(2), () -> vms.stream().allMatch(vm -> {
      SupervisedDomain d = cluster.domain(vm);
      return d.getStatus() != null && d.getStatus().leases != null
          && d.getStatus().leases.stream().allMatch(l -> l.state == DomainLeaseState.Granted);
    }));
    for (String vm : vms) {
      DiskLease lease = cluster.lease(LeaseNames.autoName(cluster.path(vm + ".img")));
      assertThat(lease.getStatus().holders).singleElement().satisfies(h -> {
        assertThat(h.domain).isEqualTo(cluster.key(vm));
        assertThat(h.epoch).as("granted exactly once").isEqualTo(1L);
      });
    }
    assertThat(history.violations()).isEmpty();
  }

  private static long writeConflicts(OperatorProcess operator) {
    Matcher m = WRITE_CONFLICTS.matcher(operator.get("/metrics"));
    return m.find() ? (long) Double.parseDouble(m.group(1)) : 0;
  }
}
