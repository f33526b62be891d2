package io.lockwarden.agent.quorum;

import io.lockwarden.api.Durations;
import io.lockwarden.api.Members;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The agent's side of TIME-4 (docs/safety.md), pure: what it learned of the operator's rounds, what it promised its
 * peers, and how long the promises it holds let its domains run. Times are this host's monotonic nanoseconds, passed
 * in, so every rule is tested without waiting. Thread-safe: the watch, the peer server, the heartbeat and the bridge
 * all call it.
 *
 * <ul>
 *   <li><b>Granting (QUO-2)</b>: only while quiet, no new round learned for {@code W'} = {@link #quiet}; the grant
 *       freezes the round this node reports until every promise it gave has run out. Once rounds come back, a node
 *       still promising may go on for {@link #TAPER}, its round still frozen.
 *   <li><b>Holding (QUO-3)</b>: promises of a strict majority of its member set, itself included, extend its right to
 *       {@code sentAt + D - margin}; an ask counts only if sent while the right had not yet run out (no gap).
 * </ul>
 */
public final class QuorumState {
  /** ρ, the clock-rate error allowed between any two hosts (NTP slews at most 500 ppm). */
  static final double RATE_ERROR = 0.01;
  /** Beyond the clock-rate terms: scheduling, and a promise's reply taking its time. */
  static final Duration MARGIN = Duration.ofMillis(200);

  /**
   * The longest promise granted. An agent that starts acknowledges nothing for this long (plus the margin): its
   * predecessor on this node may have promised, and nothing of that survives a restart.
   */
  public static final Duration MAX_PROMISE = Duration.ofSeconds(10);

  /**
   * How long a node already promising when rounds come back may go on promising, its round still frozen (the taper).
   * A peer's renewal may hang on a connection the outage left dead until the API client's request timeout (10 s)
   * ends it; stopping at once paused that peer's domains for a moment at every heal. It is as safe as the first
   * promise: the round reported stays the one frozen, learned {@code W'} before the promising began. It costs a node
   * still cut off when the others hear rounds again at most this much more before it can be fenced.
   */
  static final Duration TAPER = Duration.ofSeconds(10);

  private final String node;
  /** Before this, it acknowledges nothing: a predecessor's promises may run, unknown to it. */
  private final long acknowledgeFrom;
  private final PromiseFile file;
  /** The ConfigMap's uid: a round counts only within one incarnation of lockwarden-timing (one counter). */
  private String newestUid;
  private long newestRound = -1;
  private long learnedAt;
  private Duration window;
  private Members members = Members.NONE;
  private long promisedUntil = Long.MIN_VALUE;
  private String frozenAck;
  /** When this node first learned a new round while promising (the end of the outage, for it); MIN_VALUE if not. */
  private long newsWhilePromisingAt = Long.MIN_VALUE;
  /** The latest time an acknowledgement was asked for: no grant is judged as of earlier (see {@link #grant}). */
  private long acknowledgedAt = Long.MIN_VALUE;
  private long coveredUntil = Long.MIN_VALUE;
  /** Bumped when the coverage is dropped, so that an ask in flight then extends nothing. */
  private long generation;

  /**
   * An agent that knows nothing of its predecessor's promises: it acknowledges nothing until {@link #MAX_PROMISE} has
   * passed since {@code startedAt}, and keeps no record of its own.
   */
  public QuorumState(String node, long startedAt) {
    this(node, startedAt, PromiseFile.Loaded.UNKNOWN, null);
  }

  /**
   * @param kept what the predecessor on this node left in {@code file}: its promises are kept as if given here; when
   *     it cannot be known, nothing is acknowledged until the longest promise has passed since {@code startedAt}
   * @param file where each promise is recorded before it is answered; null for none (tests)
   */
  public QuorumState(String node, long startedAt, PromiseFile.Loaded kept, PromiseFile file) {
    this.node = node;
    this.file = file;
    this.acknowledgeFrom = kept.unknown() ? startedAt + MAX_PROMISE.plus(MARGIN).toNanos() : Long.MIN_VALUE;
    this.promisedUntil = kept.promisedUntil();
    this.frozenAck = kept.frozenAck();
  }

  /** {@code W'}: how long a node must have learned no new round before it may promise, from the window {@code W}. */
  public static Duration quiet(Duration window) {
    return Duration.ofNanos((long) (window.toNanos() * (1 + 3 * RATE_ERROR))).plus(MARGIN);
  }

  /** How long a promise of {@code duration}, asked at {@code sentAt}, may be used: {@code sentAt + D - 2ρD - margin}. */
  public static long usableUntil(long sentAt, Duration duration) {
    return sentAt + duration.toNanos() - (long) (2 * RATE_ERROR * duration.toNanos()) - MARGIN.toNanos();
  }

  /**
   * What the watch of {@code lockwarden-timing} delivered. A higher round is learned now; a window or member set that
   * does not parse leaves none (no promise is given or used on a guess), whatever the round.
   *
   * @return a problem with the published values, or null
   */
  public synchronized String learned(String uid, Map<String, String> data, long now) {
    if (data == null) {
      return null;
    }
    String problem = null;
    String round = data.get(TimingConfigMap.ROUND);
    if (round != null) {
      try {
        long value = Long.parseLong(round.trim());
        // A ConfigMap made again (a new uid) starts a new counter: its rounds are news whatever their numbers.
        if (!uid.equals(newestUid) || value > newestRound) {
          // The first round an agent learns is no end of an outage: a restarted agent keeping its predecessor's
          // promise gets no taper (else a crash loop would put off fencing elsewhere for ever).
          boolean news = newestUid != null;
          newestUid = uid;
          newestRound = value;
          learnedAt = now;
          if (news && now < promisedUntil && newsWhilePromisingAt == Long.MIN_VALUE) {
            newsWhilePromisingAt = now;
          }
        }
      } catch (NumberFormatException e) {
        problem = "round '" + round + "' is not a number";
      }
    }
    String windowText = data.get(TimingConfigMap.WINDOW);
    try {
      window = windowText == null ? null : Durations.parse(TimingConfigMap.WINDOW, windowText);
    } catch (IllegalArgumentException e) {
      window = null;
      problem = e.getMessage();
    }
    try {
      members = Members.parse(data.get(TimingConfigMap.MEMBERS));
    } catch (IllegalArgumentException e) {
      members = Members.NONE;
      problem = "members: " + e.getMessage();
    }
    return problem;
  }

  /**
   * What this node's next renewal acknowledges, as {@code <uid>/<round>} ({@link NodeLeases#ROUND_ANNOTATION}): the frozen one while a promise it gave runs, else the newest; null for none (nothing learned
   * yet, or the agent started less than {@link #MAX_PROMISE} ago without knowing its predecessor's promises).
   */
  public synchronized String acknowledgement(long now) {
    acknowledgedAt = Math.max(acknowledgedAt, now);
    if (now <= acknowledgeFrom) {
      return null;
    }
    if (now < promisedUntil) {
      return frozenAck;
    }
    return newestRound < 0 ? null : new NodeLeases.Acknowledgement(newestUid, newestRound).format();
  }

  public synchronized Members members() {
    return members;
  }

  public synchronized Duration window() {
    return window;
  }

  /**
   * Why this node may not promise now, or null if it may (QUO-2): quiet, or still promising with its round frozen
   * and rounds back for less than {@link #TAPER}.
   */
  public synchronized Refusal refusal(long now) {
    if (window == null || newestRound < 0) {
      return Refusal.NO_ROUNDS_KNOWN;
    }
    if (now - learnedAt > quiet(window).toNanos()) {
      return null;
    }
    if (now < promisedUntil && newsWhilePromisingAt != Long.MIN_VALUE && now - newsWhilePromisingAt < TAPER.toNanos()) {
      return null; // the taper: nothing newer than the frozen round has been, or will be, acknowledged
    }
    return Refusal.NOT_QUIET;
  }

  /**
   * A peer asks for a promise of {@code duration}: granted (null) only while quiet, else why not. Granting freezes
   * the round this node reports, at the newest it has, which it learned at least {@code W'} ago; a promise still
   * running keeps the round frozen earlier.
   */
  public synchronized Refusal grant(Duration duration, long now) {
    // The caller read its clock before it got here: an acknowledgement given meanwhile may already have reported a
    // round newer than the frozen one, once the promise had run out. Judged as of then, the promise is over, and only
    // a quiet node may start a new one (review of the taper).
    now = Math.max(now, acknowledgedAt);
    if (duration.compareTo(MAX_PROMISE) > 0) {
      return Refusal.TOO_LONG;
    }
    Refusal refusal = refusal(now);
    if (refusal != null) {
      return refusal;
    }
    boolean fresh = now >= promisedUntil;
    String frozen = fresh ? new NodeLeases.Acknowledgement(newestUid, newestRound).format() : frozenAck;
    long until = Math.max(promisedUntil, now + duration.toNanos());
    if (file != null) {
      try {
        file.save(until, frozen); // before the answer: a promise must outlive this agent
      } catch (java.io.IOException e) {
        return Refusal.NOT_RECORDED;
      }
    }
    frozenAck = frozen;
    promisedUntil = until;
    if (fresh) {
      newsWhilePromisingAt = Long.MIN_VALUE; // quiet (the only way to a first promise): no news since
    }
    return null;
  }

  /** Whether a promise this node gave is still running: its renewals acknowledge only the frozen round meanwhile. */
  public synchronized boolean promising(long now) {
    return now < promisedUntil;
  }

  /**
   * Before asking, at {@code now}, which is taken as the moment the requests are sent (they go after it): the ask, or
   * null if one now could not count. Not a member of its own set, or the right already run out (whichever of renewal
   * and promises gave it): coverage never restarts after a gap.
   */
  public synchronized Ask ask(long renewalValidUntil, long now) {
    if (!members.contains(node) || now >= Math.max(renewalValidUntil, coveredUntil)) {
      return null;
    }
    Map<String, String> peers = new java.util.TreeMap<>(members.addresses());
    peers.remove(node);
    return new Ask(now, peers, generation);
  }

  /** An ask: sent at {@code sentAt} to {@code peers} (node to address). */
  public record Ask(long sentAt, Map<String, String> peers, long generation) {}

  /**
   * The answers to an ask: with promises of a strict majority of the member set (this node included), the right
   * extends to {@link #usableUntil}. Promises from nodes outside the set count for nothing; an ask made before the
   * coverage was dropped, or answered only after the right ran out, extends nothing.
   *
   * @return whether the promises extended the right
   */
  public synchronized boolean answered(Ask ask, Duration duration, Collection<String> granted, long renewalValidUntil,
      long now) {
    if (ask.generation() != generation || now >= Math.max(renewalValidUntil, coveredUntil)) {
      return false; // dropped meanwhile, or the right ran out while the answers came: no gap (review of issue #15)
    }
    Set<String> counted = new TreeSet<>(granted);
    counted.add(node);
    counted.retainAll(members.addresses().keySet());
    if (!members.contains(node) || counted.size() < members.majority()) {
      return false;
    }
    long until = usableUntil(ask.sentAt(), duration);
    if (until <= coveredUntil) {
      return false;
    }
    coveredUntil = until;
    return true;
  }

  /** Until when the promises held cover this node's domains; Long.MIN_VALUE if none. */
  public synchronized long coveredUntil() {
    return coveredUntil;
  }

  /** The operator fenced this node: promises extend nothing from now on; only a renewal that confirms grants does. */
  public synchronized void dropCoverage() {
    coveredUntil = Long.MIN_VALUE;
    generation++;
  }

  /** Why a peer refuses. */
  public enum Refusal {
    /** It has not learned a round and a window yet, so it cannot tell how long it must be quiet. */
    NO_ROUNDS_KNOWN,
    /** It learned a round within {@code W'}: it may still acknowledge a fence, so it must not promise. */
    NOT_QUIET,
    /** Longer than {@link #MAX_PROMISE}, which a restarted agent waits out before it acknowledges anything. */
    TOO_LONG,
    /** It could not record the promise in its run directory, so a restart could break it. */
    NOT_RECORDED
  }
}
