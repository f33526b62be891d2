package io.lockwarden.agent.heartbeat;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.agent.heartbeat.TimingRule.Reason;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** TIME-2 as the agent checks it: fenceTimeout + 200 ms must stay below the operator's nodeTimeout + grace. */
class TimingRuleTest {
  private static final Duration FENCE_TIMEOUT = Duration.ofSeconds(6);

  private static Map<String, String> published(String nodeTimeout, String grace) {
    Map<String, String> data = new HashMap<>();
    if (nodeTimeout != null) {
      data.put(TimingConfigMap.NODE_TIMEOUT, nodeTimeout);
    }
    if (grace != null) {
      data.put(TimingConfigMap.GRACE, grace);
    }
    data.put(TimingConfigMap.PUBLISHED_BY, "operator-0");
    return data;
  }

  @Test
  void theDefaultsHoldWithTheirMargin() {
    TimingRule.Verdict verdict = TimingRule.check(FENCE_TIMEOUT, published("10s", "2s"));

    assertThat(verdict.holds()).isTrue();
    assertThat(verdict.nodeTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(verdict.grace()).isEqualTo(Duration.ofSeconds(2));
    assertThat(verdict.publishedBy()).isEqualTo("operator-0");
  }

  @Test
  void theBoundaryIsStrict() {
    // 6 s + 200 ms against 6200 ms: equal is broken, one millisecond more holds.
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("6s", "200ms")).reason()).isEqualTo(Reason.RULE_BROKEN);
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("6s", "201ms")).reason()).isEqualTo(Reason.HOLDS);
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("6100ms", "0s")).reason()).isEqualTo(Reason.RULE_BROKEN);
  }

  @Test
  void theNegativeControlsTimingIsBroken() {
    // e2e/chaos.sh --negative-control: nodeTimeout 2 s, no grace, against the agents' 6 s.
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("2s", "0s")).reason()).isEqualTo(Reason.RULE_BROKEN);
  }

  @Test
  void aMissingOrUnreadableTimingNeverHolds() {
    assertThat(TimingRule.check(FENCE_TIMEOUT, null).reason()).isEqualTo(Reason.NOT_PUBLISHED);
    assertThat(TimingRule.check(FENCE_TIMEOUT, Map.of()).reason()).isEqualTo(Reason.UNPARSABLE);
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("10s", null)).detail()).isEqualTo("grace: missing");
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("10 seconds", "2s")))
        .satisfies(v -> assertThat(v.reason()).isEqualTo(Reason.UNPARSABLE))
        .satisfies(v -> assertThat(v.detail()).contains("nodeTimeout").contains("10 seconds"));
    assertThat(TimingRule.check(FENCE_TIMEOUT, published("20s", "-10s")).reason()).isEqualTo(Reason.UNPARSABLE);
  }

  @Test
  void reasonsReadAsTheyAreLogged() {
    assertThat(Reason.RULE_BROKEN).hasToString("rule-broken");
    assertThat(Reason.NOT_PUBLISHED).hasToString("not-published");
  }
}
