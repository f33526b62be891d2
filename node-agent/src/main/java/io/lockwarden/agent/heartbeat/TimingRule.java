package io.lockwarden.agent.heartbeat;

import io.lockwarden.api.Durations;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.Map;

/**
 * TIME-2 (docs/safety.md) as the agent checks it before every renewal: {@code fenceTimeout + checkInterval <
 * nodeTimeout + grace}, with the operator's side as it published it in {@code lockwarden-timing}. While the rule
 * cannot be shown to hold (broken, or the timing missing or unreadable), a renewal would extend deadlines that may
 * outlive the moment the operator gives the node's grants to someone else: the agent renews nothing, and its domains
 * are paused as for any lost lease. Pure: the caller reads the ConfigMap.
 */
public final class TimingRule {
  /**
   * How late a supervisor may notice its deadline passed: it checks every 100 ms; TIME-2 counts 200 ms for the check
   * and the signal.
   */
  public static final Duration CHECK_INTERVAL = Duration.ofMillis(200);

  /** Why renewals may go ahead, or why not. */
  public enum Reason {
    HOLDS("holds"),
    /** No ConfigMap (the operator has not published yet, or it was deleted), or not read yet. */
    NOT_PUBLISHED("not-published"),
    /** A key missing, or not a duration, or a negative one. */
    UNPARSABLE("unparsable"),
    /** {@code fenceTimeout + checkInterval >= nodeTimeout + grace}. */
    RULE_BROKEN("rule-broken");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    /** As it appears in the log, {@code reason=rule-broken}. */
    @Override
    public String toString() {
      return label;
    }
  }

  /**
   * @param nodeTimeout as published, null if not readable
   * @param grace as published, null if not readable
   * @param publishedBy the operator that published it, null if not known
   * @param detail what could not be read, for the log; null otherwise
   */
  public record Verdict(Reason reason, Duration fenceTimeout, Duration nodeTimeout, Duration grace,
      String publishedBy, String detail) {
    public boolean holds() {
      return reason == Reason.HOLDS;
    }
  }

  private TimingRule() {}

  /** @param published the ConfigMap's data, null if there is none */
  public static Verdict check(Duration fenceTimeout, Map<String, String> published) {
    if (published == null) {
      return new Verdict(Reason.NOT_PUBLISHED, fenceTimeout, null, null, null,
          "no ConfigMap " + TimingConfigMap.NAME + " in the operator's namespace");
    }
    String publishedBy = published.get(TimingConfigMap.PUBLISHED_BY);
    Duration nodeTimeout;
    Duration grace;
    try {
      nodeTimeout = duration(published, TimingConfigMap.NODE_TIMEOUT);
      grace = duration(published, TimingConfigMap.GRACE);
    } catch (IllegalArgumentException e) {
      return new Verdict(Reason.UNPARSABLE, fenceTimeout, null, null, publishedBy, e.getMessage());
    }
    if (fenceTimeout.plus(CHECK_INTERVAL).compareTo(nodeTimeout.plus(grace)) >= 0) {
      return new Verdict(Reason.RULE_BROKEN, fenceTimeout, nodeTimeout, grace, publishedBy, null);
    }
    return new Verdict(Reason.HOLDS, fenceTimeout, nodeTimeout, grace, publishedBy, null);
  }

  private static Duration duration(Map<String, String> published, String key) {
    String value = published.get(key);
    if (value == null) {
      throw new IllegalArgumentException(key + ": missing");
    }
    Duration duration = Durations.parse(key, value.trim());
    if (duration.isNegative()) {
      throw new IllegalArgumentException(key + ": '" + value + "' is negative");
    }
    return duration;
  }
}
