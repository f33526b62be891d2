package io.lockwarden.operator.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OperatorConfigTest {
  @Test
  void hasSafeDefaults() {
    OperatorConfig config = OperatorConfig.from(new String[0], Map.of());

    assertThat(config.namespace()).isEqualTo("lockwarden-system");
    assertThat(config.nodeTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(config.grace()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.leaderElection()).isTrue();
    assertThat(config.metricsPort()).isEqualTo(8080);
    assertThat(config.leaderLeaseDuration()).isEqualTo(Duration.ofSeconds(15));
    assertThat(config.quorumWindow()).isEqualTo(Duration.ofSeconds(3));
  }

  @Test
  void theQuorumWindowComesFromTheEnvironmentAndIsPositive() {
    assertThat(OperatorConfig.from(new String[0], Map.of("LOCKWARDEN_QUORUM_WINDOW", "4500ms")).quorumWindow())
        .isEqualTo(Duration.ofMillis(4500));
    assertThatThrownBy(() -> OperatorConfig.from(new String[] {"--quorum-window=0s"}, Map.of()))
        .hasMessageContaining("quorum-window: must be above 0");
    assertThatThrownBy(() -> OperatorConfig.from(new String[] {"--quorum-window=12s"}, Map.of()))
        .as("a node silent for nodeTimeout + grace must no longer count as acknowledging (TIME-4)")
        .hasMessageContaining("must be shorter than node-timeout + grace (12s)");
  }

  @Test
  void flagsWinOverEnvironment() {
    OperatorConfig config = OperatorConfig.from(new String[] {"--node-timeout=20s"},
        Map.of("LOCKWARDEN_NODE_TIMEOUT", "5s", "LOCKWARDEN_GRACE", "500ms", "LOCKWARDEN_LEADER_ELECTION", "false"));

    assertThat(config.nodeTimeout()).isEqualTo(Duration.ofSeconds(20));
    assertThat(config.grace()).isEqualTo(Duration.ofMillis(500));
    assertThat(config.leaderElection()).isFalse();
  }

  @Test
  void aBadValueNamesItsSetting() {
    assertThatThrownBy(() -> OperatorConfig.from(new String[] {"--grace=soon"}, Map.of()))
        .hasMessageContaining("grace: 'soon' is not a duration");
    assertThatThrownBy(() -> OperatorConfig.from(new String[] {"--nodetimeout=1s"}, Map.of()))
        .hasMessageContaining("unknown flags [nodetimeout]");
  }
}
