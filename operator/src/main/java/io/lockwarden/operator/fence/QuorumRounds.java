package io.lockwarden.operator.fence;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.Durations;
import io.lockwarden.api.Members;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the rounds (docs/safety.md, TIME-4, QUO-1): every {@link #PERIOD} the next {@code round} into {@code
 * lockwarden-timing}, with {@code window} and the member set (QUO-4), as an update carrying the resourceVersion it
 * read, and notes in the {@link QuorumGate} when each successful write was sent. Agents put the newest round they
 * learned into every renewal; that is how the gate learns that a majority still reaches the API server.
 *
 * <p>Run by the operator that decides, like {@link TimingPublisher}, which owns the other keys of the ConfigMap and
 * creates it: this class only ever updates its own keys of an existing one, and a write that loses a race (409) is
 * simply the next tick's to make. Replicas without leader election all write, to the one counter: an update carrying
 * the resourceVersion read never lets the counter go back, and a round another replica wrote counts as our own latest
 * one below it.
 *
 * <p>The round written is one above the highest of the ConfigMap's, ours and every node's acknowledged one: rounds
 * never go back, even when the ConfigMap was deleted and made again, so an old acknowledgement is never taken for a
 * newer round than the one it acknowledged.
 */
public final class QuorumRounds implements AutoCloseable {
  static final Duration PERIOD = Duration.ofMillis(500);
  private static final Logger log = LoggerFactory.getLogger(QuorumRounds.class);

  private final KubernetesClient client;
  private final String namespace;
  private final NodeLiveness liveness;
  private final QuorumGate quorum;
  private final LongSupplier clock;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "quorum-rounds");
    thread.setDaemon(true);
    return thread;
  });
  private volatile String failing;
  private Set<String> blocking = Set.of();

  public QuorumRounds(KubernetesClient client, String namespace, NodeLiveness liveness, QuorumGate quorum) {
    this(client, namespace, liveness, quorum, System::nanoTime);
  }

  QuorumRounds(KubernetesClient client, String namespace, NodeLiveness liveness, QuorumGate quorum,
      LongSupplier clock) {
    this.client = client;
    this.namespace = namespace;
    this.liveness = liveness;
    this.quorum = quorum;
    this.clock = clock;
  }

  /** Called when this operator starts deciding. */
  public void start() {
    ticker.scheduleWithFixedDelay(() -> {
      try {
        writeRound();
      } catch (RuntimeException e) {
        // A scheduled task that throws is never run again. One line when writes start failing, one when they resume.
        if (failing == null) {
          log.warn("event=round-write-failed namespace={} configMap={} error=\"{}\" note=no new round, so no"
              + " acknowledgement stays fresh: nobody is fenced until writes succeed", namespace,
              TimingConfigMap.NAME, e.getMessage());
        }
        failing = e.getMessage();
      }
    }, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One tick: the next round, the window and the member set, in one update. Returns the round written, or 0. */
  long writeRound() {
    ConfigMap timing = client.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).get();
    if (timing == null) {
      return 0; // TimingPublisher creates it; agents renew nothing before it exists anyway
    }
    Map<String, String> data = new HashMap<>(timing.getData() == null ? Map.of() : timing.getData());
    long round = Math.max(Math.max(parseRound(data.get(TimingConfigMap.ROUND)), quorum.latestRound()),
        quorum.highestAcknowledged()) + 1;
    MemberSets.Published read = readSets(data);
    MemberSets.Published next = liveness.observedMembers()
        .map(observed -> {
          noteBlocking(read, observed);
          return MemberSets.next(read, observed, quorum.acknowledgements(), round);
        })
        .orElse(read); // not watching: the Leases are not all known, publish no set made of some of them
    data.put(TimingConfigMap.ROUND, Long.toString(round));
    data.put(TimingConfigMap.WINDOW, Durations.format(quorum.window()));
    if (next.isPublished()) {
      data.put(TimingConfigMap.MEMBERS, next.members().format());
      data.put(TimingConfigMap.MEMBERS_SINCE, Long.toString(next.since()));
      data.put(TimingConfigMap.PREVIOUS_MEMBERS, next.previous().format());
    }
    timing.setData(data);
    long g = clock.getAsLong(); // before sending: an acknowledgement of this round was sent after g
    try {
      client.resource(timing).update(); // carries the resourceVersion read
    } catch (KubernetesClientException e) {
      if (e.getCode() == 409) {
        quorum.published(read); // written meanwhile; the next tick reads it
        return 0;
      }
      throw e;
    }
    quorum.sent(round, g, timing.getMetadata().getUid());
    quorum.published(next);
    if (!Objects.equals(next.since(), read.since())) {
      log.info("event=members-changed round={} members=\"{}\" previousMembers=\"{}\"", round, next.members().format(),
          next.previous().format());
    }
    if (failing != null) {
      log.info("event=round-write-resumed namespace={} round={}", namespace, round);
      failing = null;
    }
    return round;
  }

  /**
   * The sets as published; where the ConfigMap lost them (deleted and made again by {@link TimingPublisher}), the ones
   * this operator last wrote, so that the history of sets goes on.
   */
  private MemberSets.Published readSets(Map<String, String> data) {
    String since = data.get(TimingConfigMap.MEMBERS_SINCE);
    if (since == null) {
      return quorum.published();
    }
    try {
      return new MemberSets.Published(Members.parse(data.get(TimingConfigMap.MEMBERS)), Long.parseLong(since.trim()),
          Members.parse(data.get(TimingConfigMap.PREVIOUS_MEMBERS)));
    } catch (IllegalArgumentException e) {
      log.warn("event=members-unreadable namespace={} configMap={} error=\"{}\" note=using the sets this operator last"
          + " wrote", namespace, TimingConfigMap.NAME, e.getMessage());
      return quorum.published();
    }
  }

  private static long parseRound(String text) {
    try {
      return text == null ? 0 : Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** One line whenever the members keeping the set from changing are others than before. */
  private void noteBlocking(MemberSets.Published read, Members observed) {
    Set<String> now = read.isPublished() && !observed.sameNodes(read.members())
        ? MemberSets.blocking(read, observed, quorum.acknowledgements()) : Set.of();
    if (!now.equals(blocking) && !now.isEmpty()) {
      log.warn("event=members-change-blocked members=\"{}\" observed=\"{}\" silent={} note=the set changes once these"
          + " acknowledge round {} or their Leases are deleted", read.members().format(), observed.format(), now,
          read.since());
    }
    blocking = now;
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
