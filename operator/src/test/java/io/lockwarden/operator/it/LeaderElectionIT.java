package io.lockwarden.operator.it;

import static io.lockwarden.api.v1alpha1.AccessMode.Exclusive;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Two replicas with leader election: one decides; when it is SIGKILLed, the other takes over from CR status alone. */
@ExtendWith(ControlPlaneExtension.class)
class LeaderElectionIT {
  private static Cluster cluster;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    cluster = Cluster.start(controlPlane, "le",
        Map.of("LOCKWARDEN_LEADER_ELECTION", "true", "LOCKWARDEN_LEADER_LEASE_DURATION", "6s"), "a");
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void theStandbyTakesOverWhenTheLeaderDies() {
    OperatorProcess leader = cluster.operator();
    String before = uniqueName("vm");
    cluster.create(before, "a", disk(cluster.path(before + ".img"), Exclusive));
    long epoch = cluster.awaitHolder(LeaseNames.autoName(cluster.path(before + ".img")), before).epoch;
    OperatorProcess standby = cluster.startOperator("le-standby");
    assertThat(standby.get("/readyz")).as("a standby is ready: it serves and watches").startsWith("200");

    leader.kill();
    String after = uniqueName("vm");
    cluster.create(after, "a", disk(cluster.path(after + ".img"), Exclusive));

    // The standby waits out the dead leader's Lease (6 s here), then decides from CR status alone.
    cluster.awaitHolder(LeaseNames.autoName(cluster.path(after + ".img")), after);
    // The holder is visible to us as soon as the write lands, a moment before the standby logs it.
    Await.until("the standby logged the grant", Cluster.WAIT,
        () -> standby.log().contains("event=granted lease=" + LeaseNames.autoName(cluster.path(after + ".img"))));
    assertThat(cluster.awaitHolder(LeaseNames.autoName(cluster.path(before + ".img")), before).epoch)
        .as("the earlier grant is untouched").isEqualTo(epoch);
  }
}
