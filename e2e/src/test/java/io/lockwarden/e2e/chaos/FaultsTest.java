package io.lockwarden.e2e.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What the run's evidence check takes off the run's length: the time the control plane was out. */
class FaultsTest {
  @Test
  void controlPlaneOutagesCountOnceWhereTheyOverlapAndOtherFaultsNotAtAll() {
    List<Faults.Window> windows = List.of(
        new Faults.Window(Faults.Kind.APISERVER_OUTAGE, null, 1_000, 5_000),
        new Faults.Window(Faults.Kind.ETCD_OUTAGE, null, 4_000, 7_000), // overlaps the first by 1 s
        new Faults.Window(Faults.Kind.MAJORITY_CUT, null, 8_000, 30_000), // the driver still reaches the API server
        new Faults.Window(Faults.Kind.ETCD_OUTAGE, null, 40_000, 42_000),
        new Faults.Window(Faults.Kind.APISERVER_OUTAGE, null, 40_500, 41_000)); // inside the one before
    assertThat(Faults.controlPlaneOutageMillis(windows)).isEqualTo(6_000 + 2_000);
    assertThat(Faults.controlPlaneOutageMillis(List.of())).isZero();
  }
}
