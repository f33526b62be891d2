package io.lockwarden.agent.quorum;

import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.api.Durations;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bridges an outage of the API server on promises (docs/safety.md, TIME-4, QUO-3): every {@link #TICK}, once a
 * renewal is overdue, asks the peers for promises, and with a majority extends the right of the node's running
 * domains. Its own thread, so a renewal hanging on a stopped API server never holds it up.
 *
 * <p>It asks only while the right still holds (the state refuses otherwise: no gap), never once the operator's fence
 * mark is seen, and never while TIME-2 does not hold against the published timing (the agent renews nothing then
 * either).
 */
public final class QuorumBridge implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(QuorumBridge.class);
  static final Duration TICK = Duration.ofMillis(200);
  /** A renewal this late (beyond its interval) starts the asking. */
  static final Duration OVERDUE = Duration.ofMillis(300);
  /** How often the operator writes a round (R in docs/safety.md, TIME-4). */
  static final Duration ROUND_PERIOD = Duration.ofMillis(500);

  private final String node;
  private final QuorumState state;
  private final PeerClient client;
  private final NodeHeartbeat heartbeat;
  private final Duration promise;
  private final Duration renewInterval;
  private final LongConsumer extend;
  private final AgentMetrics metrics;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "quorum-bridge");
    thread.setDaemon(true);
    return thread;
  });
  private boolean onPromises;
  private String lastShort;
  private Duration checkedWindow;

  /**
   * @param promise the duration asked of each peer: the node's fenceTimeout, as long as a renewal proves, at most
   *     {@link QuorumState#MAX_PROMISE}
   * @param extend called with the new end of the right, to extend the running domains' deadlines
   */
  public QuorumBridge(String node, QuorumState state, PeerClient client, NodeHeartbeat heartbeat, Duration promise,
      Duration renewInterval, LongConsumer extend, AgentMetrics metrics) {
    this.node = node;
    this.state = state;
    this.client = client;
    this.heartbeat = heartbeat;
    this.promise = promise.compareTo(QuorumState.MAX_PROMISE) > 0 ? QuorumState.MAX_PROMISE : promise;
    this.renewInterval = renewInterval;
    this.extend = extend;
    this.metrics = metrics;
  }

  public QuorumBridge start() {
    ticker.scheduleWithFixedDelay(() -> {
      try {
        tick();
      } catch (RuntimeException e) {
        log.warn("event=quorum-bridge-failed node={} error=\"{}\"", node, e.toString());
      }
    }, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    return this;
  }

  void tick() {
    checkBridgeRule();
    long now = System.nanoTime();
    if (heartbeat.fencedSince() != null) {
      state.dropCoverage();
      settled(now, "the operator fenced this node");
      return;
    }
    long renewal = heartbeat.validUntil();
    long current = Math.max(renewal, state.coveredUntil());
    long askBelow = promise.minus(renewInterval).minus(OVERDUE).toNanos();
    if (current - now > askBelow || !heartbeat.timingRuleHolds()) {
      settled(now, state.coveredUntil() > Math.max(now, renewal) ? null : "renewals prove the right again");
      return;
    }
    QuorumState.Ask ask = state.ask(renewal, now);
    if (ask == null) {
      settled(now, current <= now ? "the right ran out before promises came: only a renewal resumes"
          : "this node is not in the member set it last learned");
      return;
    }
    PeerClient.Answers answers = client.ask(ask.peers(), promise);
    boolean extended = state.answered(ask, promise, answers.granted(), heartbeat.validUntil(), System.nanoTime());
    metrics.promiseAsk(extended);
    if (extended) {
      extend.accept(state.coveredUntil());
      if (!onPromises) {
        onPromises = true;
        lastShort = null;
        log.warn("event=running-on-promises node={} granted={} members={} until=+{}ms note=the API server cannot be "
                + "reached, nor can a majority of nodes: no one can be fenced, the domains run on", node,
            answers.granted(), state.members().size(), (state.coveredUntil() - now) / 1_000_000);
      }
      metrics.onPromises(true);
      return;
    }
    String shortOf = "granted=" + answers.granted() + " notGranted=" + answers.notGranted().keySet();
    if (!shortOf.equals(lastShort)) {
      lastShort = shortOf;
      log.warn("event=promises-short node={} {} needed={} of members={} reasons=\"{}\" note=no majority: the domains "
              + "stop at their deadline as for a lost lease", node, shortOf, state.members().majority(),
          state.members().size(), answers.notGranted());
    }
  }

  /** Nothing to ask now; {@code ended}: why the domains no longer run on promises, or null if they still do. */
  private void settled(long now, String ended) {
    if (onPromises && ended != null) {
      onPromises = false;
      log.info("event=promises-ended node={} reason=\"{}\"", node, ended);
    }
    metrics.onPromises(state.coveredUntil() > Math.max(now, heartbeat.validUntil()));
  }

  /**
   * Liveness, not safety: promises can bridge an outage only if peers become quiet ({@code W'}) before a renewal's
   * deadline passes. Said once per window published.
   */
  private void checkBridgeRule() {
    Duration window = state.window();
    if (window == null || window.equals(checkedWindow)) {
      return;
    }
    checkedWindow = window;
    Duration quiet = QuorumState.quiet(window);
    Duration room = promise.minus(renewInterval);
    if (window.compareTo(renewInterval.plus(ROUND_PERIOD).plus(QuorumState.MARGIN)) <= 0) {
      log.warn("event=quorum-window-too-short node={} window={} renewInterval={} note=this node's acknowledgements "
              + "may be older than the window when the operator looks: fencing elsewhere may wait for a later renewal "
              + "(docs/safety.md, TIME-4)", node, Durations.format(window), Durations.format(renewInterval));
    }
    if (quiet.plus(PeerClient.CONNECT).compareTo(room) >= 0) {
      log.warn("event=quorum-bridge-too-short node={} window={} quiet={} fenceTimeout={} renewInterval={} note=peers "
              + "become quiet only after a renewal's deadline may have passed: a global outage may pause domains "
              + "before promises come (docs/safety.md, TIME-4)", node, Durations.format(window),
          Durations.format(quiet), Durations.format(promise), Durations.format(renewInterval));
    } else {
      log.info("event=quorum-bridge-holds node={} window={} quiet={} room={}", node, Durations.format(window),
          Durations.format(quiet), Durations.format(room));
    }
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
