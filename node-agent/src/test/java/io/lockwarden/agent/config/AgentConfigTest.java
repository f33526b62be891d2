package io.lockwarden.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AgentConfigTest {
  @Test
  void defaultsFollowTheDocumentedTimingsAndTheNodeComesFromTheDownwardApi() {
    AgentConfig config = AgentConfig.from(new String[0], Map.of("NODE_NAME", "node-a"));
    assertThat(config.nodeName()).isEqualTo("node-a");
    assertThat(config.renewInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.fenceTimeout()).isEqualTo(Duration.ofSeconds(6));
    assertThat(config.pauseTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(config.runDir()).isEqualTo(Path.of("/var/run/lockwarden"));
    assertThat(config.lockspaceDir()).isNull();
    assertThat(config.allowedExecutables()).isEmpty();
    assertThat(config.runAsUid()).as("domains run as nobody unless told otherwise").isEqualTo(65534);
    assertThat(config.runAsGid()).isEqualTo(65534);
    assertThat(config.unsafeSkipTimingRule()).isFalse();
  }

  @Test
  void theTimingRuleIsSkippedOnlyByItsTestOnlyEnvironmentVariable() {
    assertThat(AgentConfig.from(new String[0], Map.of("NODE_NAME", "n", "LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE", "true"))
        .unsafeSkipTimingRule()).isTrue();
    assertThatThrownBy(() -> AgentConfig.from(new String[] {"--unsafe-skip-timing-rule=true"},
        Map.of("NODE_NAME", "n"))).as("never a flag").hasMessageContaining("unknown flags");
    assertThatThrownBy(() -> AgentConfig.from(new String[0], Map.of("NODE_NAME", "n",
        "LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE", "yes"))).hasMessageContaining("LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE");
  }

  @Test
  void theLockdSocketIsWhereLibvirtLooksUnlessMovedOrTurnedOff() {
    assertThat(AgentConfig.from(new String[0], Map.of("NODE_NAME", "n")).lockdSocket())
        .isEqualTo(Path.of("/run/libvirt/virtlockd-sock"));
    assertThat(AgentConfig.from(new String[0], Map.of("NODE_NAME", "n", "LOCKWARDEN_LOCKD_SOCKET",
        "/run/node-b/libvirt/virtlockd-sock")).lockdSocket()).isEqualTo(Path.of("/run/node-b/libvirt/virtlockd-sock"));
    assertThat(AgentConfig.from(new String[0], Map.of("NODE_NAME", "n", "LOCKWARDEN_LOCKD_SOCKET", "none"))
        .lockdSocket()).as("no lockd service").isNull();
    assertThat(AgentConfig.from(new String[] {"--lockd-socket=none"}, Map.of("NODE_NAME", "n",
        "LOCKWARDEN_LOCKD_SOCKET", "/run/x")).lockdSocket()).isNull();
    assertThatThrownBy(() -> AgentConfig.from(new String[0], Map.of("NODE_NAME", "n", "LOCKWARDEN_LOCKD_SOCKET",
        "relative/sock"))).hasMessageContaining("lockd-socket");
  }

  @Test
  void flagsWinOverEnvironment() {
    AgentConfig config = AgentConfig.from(new String[] {"--fence-timeout=8s", "--allowed-executables=/a,/b"},
        Map.of("NODE_NAME", "n", "LOCKWARDEN_FENCE_TIMEOUT", "4s", "LOCKWARDEN_ALLOWED_PATH_PREFIXES", "/srv/disks"));
    assertThat(config.fenceTimeout()).isEqualTo(Duration.ofSeconds(8));
    assertThat(config.allowedExecutables()).containsExactlyInAnyOrder("/a", "/b");
    assertThat(config.allowedPathPrefixes()).containsExactly(Path.of("/srv/disks"));
  }

  @Test
  void badSettingsAreRefusedWithTheirName() {
    assertThatThrownBy(() -> AgentConfig.from(new String[0], Map.of())).hasMessageContaining("NODE_NAME");
    assertThatThrownBy(() -> AgentConfig.from(new String[] {"--renew-interval=6s"}, Map.of("NODE_NAME", "n")))
        .hasMessageContaining("renew-interval").hasMessageContaining("fence-timeout");
    assertThatThrownBy(() -> AgentConfig.from(new String[] {"--run-as-uid=1000"}, Map.of("NODE_NAME", "n")))
        .hasMessageContaining("run-as-gid");
    assertThatThrownBy(() -> AgentConfig.from(new String[] {"--colour=blue"}, Map.of("NODE_NAME", "n")))
        .hasMessageContaining("unknown flags [colour]");
  }
}
