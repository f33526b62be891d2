package io.lockwarden.e2e.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which pauses and kills a fault explains: since TIME-4, an outage of the control plane explains none. */
class KillsTest {
  private static final String LOG = String.join("\n",
      "2026-12-02T10:00:00Z WARN Exits - event=domain-paused domain=apps/vm-1 node=chaos-a note=right not proven",
      "2026-12-02T10:00:05Z WARN FenceResponse - event=fenced-kill domain=apps/vm-2 node=chaos-b fencedAt=x grants=[]",
      "2026-12-02T10:00:06Z INFO Exits - event=domain-resumed domain=apps/vm-1 node=chaos-a");
  private static final long T0 = java.time.Instant.parse("2026-12-02T10:00:00Z").toEpochMilli();

  @Test
  void pausesAreReadFromTheAgentsLog() {
    assertThat(Kills.parsePauses(LOG, 0)).containsExactly(new Kills.Kill(T0, "apps/vm-1", "chaos-a", "paused"));
    assertThat(Kills.parsePauses(LOG, T0 + 1)).isEmpty();
    assertThat(Kills.parse(LOG, 0)).extracting(Kills.Kill::domain).containsExactly("apps/vm-2");
  }

  @Test
  void aControlPlaneOutageExplainsNoPauseAFaultOnTheNodeOrAPeerPartitionDoes() {
    List<Kills.Kill> pauses = Kills.parsePauses(LOG, 0);
    List<Faults.Window> outage = List.of(new Faults.Window(Faults.Kind.APISERVER_OUTAGE, null, T0 - 5000, T0 + 1000),
        new Faults.Window(Faults.Kind.MAJORITY_CUT, "a", T0 - 5000, T0 + 1000));
    assertThat(Kills.needless(pauses, outage, n -> "chaos-" + n)).hasSize(1);
    List<Faults.Window> cutOff = List.of(new Faults.Window(Faults.Kind.PROXY_BLACKHOLE, "a", T0 - 5000, T0 - 1000));
    assertThat(Kills.needless(pauses, cutOff, n -> "chaos-" + n)).isEmpty();
    List<Faults.Window> elsewhere = List.of(new Faults.Window(Faults.Kind.PROXY_BLACKHOLE, "b", T0 - 5000, T0));
    assertThat(Kills.needless(pauses, elsewhere, n -> "chaos-" + n)).hasSize(1);
    List<Faults.Window> partition = List.of(new Faults.Window(Faults.Kind.PEER_PARTITION, "c", T0 - 5000, T0));
    assertThat(Kills.needless(pauses, partition, n -> "chaos-" + n)).isEmpty();
    List<Faults.Window> longAgo = List.of(new Faults.Window(Faults.Kind.AGENT_STOP, "a", T0 - 90_000, T0 - 61_000));
    assertThat(Kills.needless(pauses, longAgo, n -> "chaos-" + n)).hasSize(1);
  }
}
