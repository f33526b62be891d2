package io.lockwarden.operator.it;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.api.v1alpha1.AccessMode.ReadOnly;
import static io.lockwarden.api.v1alpha1.AccessMode.Shared;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainLeaseState;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseState;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainStatus;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The grant rules, end to end: a real operator process, a real API server, agents simulated by test code. */
@ExtendWith(ControlPlaneExtension.class)
class ArbitrationIT {
  private static Cluster cluster;
  private static LeaseHistory history;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    history = LeaseHistory.record(controlPlane.admin());
    cluster = Cluster.start(controlPlane, "arb", Map.of(), "a", "b");
  }

  @AfterAll
  static void stop() {
    assertThat(history.violations()).as("DiskLease versions with incompatible holders or a falling epoch").isEmpty();
    history.close();
    cluster.close();
  }

  @ParameterizedTest(name = "{0} held, {1} asked: granted={2}")
  @CsvSource({
      "Exclusive, Exclusive, false", "Exclusive, Shared, false", "Exclusive, ReadOnly, false",
      "Shared, Exclusive, false", "Shared, Shared, true", "Shared, ReadOnly, true",
      "ReadOnly, Exclusive, false", "ReadOnly, Shared, true", "ReadOnly, ReadOnly, true"})
  void followsTheModeMatrix(AccessMode held, AccessMode asked, boolean granted) {
    String file = uniqueName("matrix") + ".img";
    String first = uniqueName("first");
    String second = uniqueName("second");
    cluster.create(first, "a", disk(cluster.path(file), held));
    cluster.awaitAllGranted(first);

    cluster.create(second, "b", disk(cluster.path(file), asked));

    String lease = LeaseNames.autoName(cluster.path(file));
    if (granted) {
      cluster.awaitAllGranted(second);
      assertThat(cluster.holders(lease)).containsExactlyInAnyOrder(cluster.key(first), cluster.key(second));
    } else {
      cluster.awaitWaiting(lease, second);
      assertThat(cluster.holders(lease)).containsExactly(cluster.key(first));
      Await.until(second + " shows phase Waiting", Cluster.WAIT, () -> cluster.domain(second).getStatus() != null
          && cluster.domain(second).getStatus().phase == DomainPhase.Waiting);
    }
  }

  @Test
  void anAutoLeaseIsNamedAfterThePathAndRecordsTheGrant() {
    String path = cluster.path(uniqueName("auto") + ".img");
    String vm = uniqueName("vm");
    cluster.create(vm, "a", disk(path, Exclusive));

    LeaseHolder holder = cluster.awaitHolder(LeaseNames.autoName(path), vm);
    DiskLease lease = cluster.lease(LeaseNames.autoName(path));

    assertThat(lease.getMetadata().getName()).matches("disk-[0-9a-f]{16}");
    assertThat(lease.getMetadata().getLabels()).containsEntry(LeaseNames.AUTO_LABEL, "true");
    assertThat(lease.getSpec().path).isEqualTo(path);
    assertThat(lease.getStatus().state).isEqualTo(LeaseState.Exclusive);
    assertThat(holder.node).isEqualTo(cluster.node("a"));
    assertThat(holder.mode).isEqualTo(Exclusive);
    assertThat(holder.epoch).isEqualTo(lease.getStatus().epoch);
    SupervisedDomain domain = cluster.awaitAllGranted(vm);
    assertThat(domain.getStatus().leases).singleElement().satisfies(l -> assertThat(l.epoch).isEqualTo(holder.epoch));
    assertThat(domain.getStatus().leaseSummary).isEqualTo("1/1");
    assertThat(domain.getStatus().node).isEqualTo(cluster.node("a"));
    assertThat(domain.getStatus().phase).isEqualTo(DomainPhase.Starting);
    assertThat(cluster.conditionReason(vm, DomainConditions.LEASES_GRANTED)).isEqualTo("AllGranted");
  }

  @Test
  void servesFirstComeFirstServedAndALaterReaderNeverOvertakesAWaitingWriter() {
    String path = cluster.path(uniqueName("fifo") + ".img");
    String lease = LeaseNames.autoName(path);
    String reader = uniqueName("reader");
    String writer = uniqueName("writer");
    String lateReader = uniqueName("late");
    cluster.create(reader, "a", disk(path, Shared));
    cluster.awaitHolder(lease, reader);
    cluster.create(writer, "b", disk(path, Exclusive));
    cluster.awaitWaiting(lease, writer);
    cluster.create(lateReader, "a", disk(path, Shared));
    cluster.awaitWaiting(lease, lateReader);

    DiskLease queued = cluster.lease(lease);
    assertThat(queued.getStatus().waiting).extracting(w -> w.domain)
        .containsExactly(cluster.key(writer), cluster.key(lateReader));
    assertThat(cluster.holders(lease)).containsExactly(cluster.key(reader));

    cluster.setRunning(reader, false); // the agent reports the release once the process is gone
    cluster.awaitHolder(lease, writer);
    assertThat(cluster.holders(lease)).containsExactly(cluster.key(writer));
    assertThat(cluster.lease(lease).getStatus().waiting).extracting(w -> w.domain).containsExactly(cluster.key(lateReader));
  }

  @Test
  void releasesOnlyOnceTheAgentReportsAndKeepsTheEpoch() {
    String path = cluster.path(uniqueName("rel") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    cluster.create(vm, "a", disk(path, Exclusive));
    long epoch = cluster.awaitHolder(lease, vm).epoch;

    cluster.setRunning(vm, false);

    Await.until(vm + " released", Cluster.WAIT, () -> cluster.holders(lease).isEmpty());
    assertThat(cluster.lease(lease).getStatus().epoch).isEqualTo(epoch);
    assertThat(cluster.lease(lease).getStatus().state).isEqualTo(LeaseState.Free);

    cluster.setRunning(vm, true);
    assertThat(cluster.awaitHolder(lease, vm).epoch).isEqualTo(epoch + 1);
  }

  /** A report naming the right lease and epoch but another lease uid (an earlier incarnation) releases nothing. */
  @Test
  void aReleaseReportForAnotherIncarnationOfTheLeaseReleasesNothing() {
    String leaseName = uniqueName("incarnation");
    cluster.admin.resource(TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"))).create();
    String vm = uniqueName("vm");
    cluster.create(vm, "a", byLease(leaseName, Exclusive));
    long epoch = cluster.awaitHolder(leaseName, vm).epoch;

    SupervisedDomain report = new SupervisedDomain();
    report.setMetadata(new ObjectMetaBuilder().withNamespace(cluster.apps).withName(vm).build());
    report.setStatus(new SupervisedDomainStatus());
    report.getStatus().released = List.of(new ReleasedGrant(leaseName, "uid-of-an-earlier-lease", epoch));
    PatchContext apply = PatchContext.of(PatchType.SERVER_SIDE_APPLY);
    apply.setFieldManager(SimulatedAgent.FIELD_MANAGER);
    apply.setForce(true);
    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).subresource("status")
        .patch(apply, report);
    // A later event on the same lease: once this waiter shows, the lease was decided after the report was seen.
    String waiter = uniqueName("waiter");
    cluster.create(waiter, "b", byLease(leaseName, Exclusive));
    cluster.awaitWaiting(leaseName, waiter);

    assertThat(cluster.holders(leaseName)).containsExactly(cluster.key(vm));
  }

  @Test
  void honoursMaxSharedHolders() {
    String leaseName = uniqueName("shared-store");
    DiskLease declared = TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"));
    declared.getSpec().maxSharedHolders = 2;
    cluster.admin.resource(declared).create();
    List<String> vms = List.of(uniqueName("s1"), uniqueName("s2"), uniqueName("s3"));
    for (String vm : vms) {
      cluster.create(vm, "a", byLease(leaseName, Shared));
      if (!vm.equals(vms.get(2))) {
        cluster.awaitHolder(leaseName, vm);
      }
    }

    cluster.awaitWaiting(leaseName, vms.get(2));
    assertThat(cluster.lease(leaseName).getStatus().waiting.get(0).reason).isEqualTo("MaxSharedHolders 2 reached");
    assertThat(cluster.holders(leaseName)).hasSize(2);
  }

  @Test
  void neverGrantsToANamespaceTheLeaseDoesNotAllow() {
    String leaseName = uniqueName("private");
    DiskLease declared = TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"));
    declared.getSpec().allowedNamespaces = List.of("somebody-else");
    cluster.admin.resource(declared).create();
    String vm = uniqueName("vm");

    cluster.create(vm, "a", byLease(leaseName, Exclusive));

    Await.until(vm + " shows NamespaceNotAllowed", Cluster.WAIT,
        () -> DomainConditions.REASON_NAMESPACE_NOT_ALLOWED.equals(cluster.conditionReason(vm, DomainConditions.LEASES_GRANTED)));
    assertThat(cluster.holders(leaseName)).isEmpty();
    assertThat(cluster.waiting(leaseName)).isEmpty();
  }

  @Test
  void aMissingDeclaredLeaseIsNamedAndGrantedOnceCreated() {
    String leaseName = uniqueName("later");
    String vm = uniqueName("vm");
    cluster.create(vm, "a", byLease(leaseName, Exclusive));

    Await.until(vm + " shows LeaseNotFound", Cluster.WAIT,
        () -> DomainConditions.REASON_LEASE_NOT_FOUND.equals(cluster.conditionReason(vm, DomainConditions.LEASES_GRANTED)));

    cluster.admin.resource(TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"))).create();
    cluster.awaitHolder(leaseName, vm);
  }

  @Test
  void ofTwoLeasesWithOnePathOnlyTheOlderGrants() {
    String path = cluster.path(uniqueName("dup") + ".img");
    String older = uniqueName("older");
    String younger = uniqueName("younger");
    cluster.admin.resource(TestObjects.diskLease(older, path)).create();
    String first = uniqueName("vm");
    cluster.create(first, "a", disk(path, Shared)); // a path disk resolves to the older lease
    long olderEpoch = cluster.awaitHolder(older, first).epoch;

    cluster.admin.resource(TestObjects.diskLease(younger, path)).create();
    String second = uniqueName("vm");
    cluster.create(second, "b", byLease(younger, Shared));

    cluster.awaitWaiting(younger, second);
    Await.until("the younger lease says DuplicatePath", Cluster.WAIT, () -> cluster.lease(younger).getStatus().conditions
        .stream().anyMatch(c -> c.getType().equals("Ready") && "DuplicatePath".equals(c.getReason())));
    Await.until(second + " shows DuplicatePath", Cluster.WAIT,
        () -> "DuplicatePath".equals(cluster.conditionReason(second, DomainConditions.LEASES_GRANTED)));
    assertThat(cluster.holders(younger)).isEmpty();
    assertThat(cluster.lease(older).getStatus().conditions)
        .anySatisfy(c -> assertThat(c.getType() + "=" + c.getStatus()).isEqualTo("Ready=True"));

    // Once the older lease is released and deleted, the younger takes over the path.
    cluster.setRunning(first, false);
    cluster.admin.resources(DiskLease.class).withName(older).delete();
    Await.until(older + " is gone", Cluster.WAIT, () -> cluster.lease(older) == null);
    assertThat(cluster.awaitHolder(younger, second).epoch).as("the path's epochs go on from the older lease's")
        .isGreaterThan(olderEpoch);
  }

  /** A fence that compares tokens per disk must never see them go back, though the disk's lease is a new object. */
  @Test
  void aPathsEpochsKeepGrowingWhenItsAutomaticLeaseIsMadeAgain() {
    String path = cluster.path(uniqueName("again") + ".img");
    String lease = LeaseNames.autoName(path);
    String first = uniqueName("vm");
    cluster.create(first, "a", disk(path, Exclusive));
    long firstEpoch = cluster.awaitHolder(lease, first).epoch;
    String firstUid = cluster.lease(lease).getMetadata().getUid();

    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(first).delete();
    Await.until("the unused auto lease is deleted", Cluster.WAIT, () -> cluster.lease(lease) == null);
    String second = uniqueName("vm");
    cluster.create(second, "b", disk(path, Exclusive));

    LeaseHolder holder = cluster.awaitHolder(lease, second);
    assertThat(cluster.lease(lease).getMetadata().getUid()).as("a new DiskLease").isNotEqualTo(firstUid);
    assertThat(holder.epoch).isGreaterThan(firstEpoch);
  }

  @Test
  void aDiskLeaseInUseIsKeptUntilNobodyHoldsIt() {
    String leaseName = uniqueName("in-use");
    cluster.admin.resource(TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"))).create();
    String vm = uniqueName("vm");
    cluster.create(vm, "a", byLease(leaseName, Exclusive));
    cluster.awaitHolder(leaseName, vm);

    cluster.admin.resources(DiskLease.class).withName(leaseName).delete();

    Await.until(leaseName + " shows it is being deleted", Cluster.WAIT, () -> cluster.lease(leaseName).getStatus()
        .conditions.stream().anyMatch(c -> c.getType().equals("Ready") && "Deleting".equals(c.getReason())));
    assertThat(cluster.lease(leaseName).getMetadata().getDeletionTimestamp()).isNotNull();
    assertThat(cluster.holders(leaseName)).containsExactly(cluster.key(vm));

    cluster.setRunning(vm, false);
    Await.until(leaseName + " is gone once released", Cluster.WAIT, () -> cluster.lease(leaseName) == null);
  }

  @Test
  void deletionWaitsForTheAgentAndThenFreesTheLease() {
    String path = cluster.path(uniqueName("del") + ".img");
    String lease = LeaseNames.autoName(path);
    String vm = uniqueName("vm");
    String next = uniqueName("next");
    cluster.create(vm, "a", disk(path, Exclusive));
    cluster.awaitHolder(lease, vm);
    cluster.create(next, "b", disk(path, Exclusive));
    cluster.awaitWaiting(lease, next);
    assertThat(cluster.domain(vm).getMetadata().getFinalizers()).contains("lockwarden.io/release");

    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).delete();

    Await.until(vm + " is gone", Cluster.WAIT, () -> cluster.domain(vm) == null);
    cluster.awaitHolder(lease, next);
  }

  @Test
  void hotUnplugReleasesAfterTheAgentDropsTheLock() {
    String keep = cluster.path(uniqueName("keep") + ".img");
    String unplug = cluster.path(uniqueName("unplug") + ".img");
    String vm = uniqueName("vm");
    cluster.create(vm, "a", disk(keep, Exclusive), disk(unplug, Exclusive));
    cluster.awaitAllGranted(vm);

    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).edit(d -> {
      d.getSpec().disks.removeIf(disk -> disk.path.equals(unplug));
      return d;
    });

    Await.until("the unplugged disk is released", Cluster.WAIT,
        () -> cluster.holders(LeaseNames.autoName(unplug)).isEmpty());
    assertThat(cluster.holders(LeaseNames.autoName(keep))).containsExactly(cluster.key(vm));
    Await.until("the unused auto lease is deleted", Cluster.WAIT, () -> cluster.lease(LeaseNames.autoName(unplug)) == null);
  }

  @Test
  void neverDeletesADeclaredLease() {
    String leaseName = uniqueName("declared");
    cluster.admin.resource(TestObjects.diskLease(leaseName, cluster.path(leaseName + ".img"))).create();
    String vm = uniqueName("vm");
    cluster.create(vm, "a", byLease(leaseName, Exclusive));
    cluster.awaitHolder(leaseName, vm);

    cluster.admin.resources(SupervisedDomain.class).inNamespace(cluster.apps).withName(vm).delete();
    Await.until(vm + " is gone", Cluster.WAIT, () -> cluster.domain(vm) == null);

    Await.until(leaseName + " is free", Cluster.WAIT, () -> cluster.holders(leaseName).isEmpty());
    assertThat(cluster.lease(leaseName)).isNotNull();
  }

  /**
   * 20 domains with random overlapping disk sets, listed in random order: every one is granted in turn. Each runs
   * "until done" (the test stops it once all its leases are granted), then the next can go.
   */
  @Test
  void domainsWithOverlappingDisksNeverDeadlock() {
    Random random = new Random(7);
    List<String> files = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      files.add(uniqueName("dl") + ".img");
    }
    List<String> vms = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      List<String> mine = new ArrayList<>(files);
      Collections.shuffle(mine, random);
      List<DomainDisk> disks = mine.subList(0, 2 + random.nextInt(3)).stream()
          .map(f -> disk(cluster.path(f), random.nextInt(3) == 0 ? Shared : Exclusive)).toList();
      String vm = uniqueName("dl-vm");
      vms.add(vm);
      cluster.create(vm, random.nextBoolean() ? "a" : "b", disks.toArray(DomainDisk[]::new));
    }

    Set<String> done = ConcurrentHashMap.newKeySet();
    Await.until("all 20 domains granted in turn", Duration.ofMinutes(3), () -> {
      for (String vm : vms) {
        SupervisedDomain d = cluster.domain(vm);
        if (!done.contains(vm) && d.getStatus() != null && d.getStatus().leases != null
            && d.getStatus().leases.stream().allMatch(l -> l.state == DomainLeaseState.Granted)) {
          done.add(vm);
          cluster.setRunning(vm, false);
        }
      }
      return done.size() == vms.size();
    });
  }

  @Test
  void servesMetricsAndReadiness() {
    String vm = uniqueName("metrics");
    cluster.create(vm, "a", disk(cluster.path(vm + ".img"), Exclusive));
    cluster.awaitAllGranted(vm);

    assertThat(cluster.operator().get("/readyz")).startsWith("200");
    assertThat(cluster.operator().get("/healthz")).startsWith("200");
    String metrics = cluster.operator().get("/metrics");
    assertThat(metrics).startsWith("200")
        .containsPattern("lockwarden_grants_total\\{mode=\"Exclusive\"\\} [1-9]")
        .contains("lockwarden_grant_latency_seconds_bucket")
        .contains("lockwarden_nodes_alive 2.0")
        .contains("lockwarden_split_brain_detected_total 0.0")
        .contains("lockwarden_conflicts_total")
        .contains("lockwarden_node_fenced_total")
        .contains("lockwarden_reconcile_errors_total{controller=\"disklease\"}")
        .contains("operator_sdk_");
  }

  @Test
  void recordsEventsForGrantsAndConflicts() {
    String path = cluster.path(uniqueName("ev") + ".img");
    String lease = LeaseNames.autoName(path);
    String holder = uniqueName("vm");
    String waiter = uniqueName("vm");
    cluster.create(holder, "a", disk(path, Exclusive));
    cluster.awaitHolder(lease, holder);
    cluster.create(waiter, "b", disk(path, ReadOnly));
    cluster.awaitWaiting(lease, waiter);

    Await.until("a waiting gauge for " + lease, Cluster.WAIT,
        () -> cluster.operator().get("/metrics").contains("lockwarden_lease_waiting{lease=\"" + lease + "\"} 1.0"));
    Await.until("Granted and Contended events on " + lease, Cluster.WAIT, () -> {
      var reasons = cluster.admin.v1().events().inNamespace("default").list().getItems().stream()
          .filter(e -> lease.equals(e.getInvolvedObject().getName())).map(e -> e.getReason()).toList();
      return reasons.contains("Granted") && reasons.contains("Contended");
    });
  }

  private static DomainDisk byLease(String leaseName, AccessMode mode) {
    DomainDisk disk = new DomainDisk();
    disk.leaseName = leaseName;
    disk.mode = mode;
    return disk;
  }
}
