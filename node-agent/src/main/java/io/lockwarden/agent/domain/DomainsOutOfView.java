package io.lockwarden.agent.domain;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fresh reads of the domains this agent has a record of but its watches no longer show. The watches select domains by
 * node ({@link ClusterView#domains()}), so a domain leaves them when it moves to another node, and for a moment when
 * it moves from one watched field to another (a migration's target becoming its node). Neither means it is gone: only
 * the API server can say, and until it has, the agent treats the record as it is (never kills on a guess).
 *
 * <p>Reads run on their own thread, never on the pass's: during a control-plane outage a read waits for the client's
 * timeout, and the pass must go on meanwhile. Each record is read at most every {@link #REREAD_NANOS}, and an answer
 * is acted on only while it is younger than {@link #MAX_AGE_NANOS}.
 */
final class DomainsOutOfView implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DomainsOutOfView.class);
  static final long REREAD_NANOS = 2_000_000_000L;
  /** An answer older than this is not acted on: the domain may have changed since, and the record waits. */
  static final long MAX_AGE_NANOS = 2 * REREAD_NANOS;

  /** What the API server last said of one domain. */
  enum State {
    /** It exists: {@link Read#domain} is its latest copy. */
    PRESENT,
    /** It is gone (or another object has its name): a uid never comes back. */
    GONE
  }

  /** One read's outcome, and when it was asked for (nanoTime). */
  record Read(State state, SupervisedDomain domain, long atNanos) {}

  private final ClusterView view;
  private final String node;
  private final Runnable onRead;
  private final LongSupplier nanoTime;
  private final Map<String, Read> reads = new ConcurrentHashMap<>();
  private final Map<String, Long> askedAt = new ConcurrentHashMap<>();
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
  private final ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "out-of-view-reads");
    thread.setDaemon(true);
    return thread;
  });

  DomainsOutOfView(ClusterView view, String node, Runnable onRead, LongSupplier nanoTime) {
    this.view = view;
    this.node = node;
    this.onRead = onRead;
    this.nanoTime = nanoTime;
  }

  /**
   * The last answer about the record's domain, or null if there is none fresher than {@link #MAX_AGE_NANOS} (none has
   * come yet, or the API server cannot be read): then the caller keeps the record as it is. Asks again at most every
   * {@link #REREAD_NANOS}, failed asks included; a GONE answer is final.
   */
  Read last(DomainRecord record) {
    Read read = reads.get(record.uid);
    if (read != null && read.state() == State.GONE) {
      return read;
    }
    if (record.namespace == null || record.name == null) {
      // Adopted from a run directory that never named its domain (no supervisor started there): nothing to ask about.
      return new Read(State.GONE, null, nanoTime.getAsLong());
    }
    long now = nanoTime.getAsLong();
    Long asked = askedAt.get(record.uid);
    if ((asked == null || now - asked >= REREAD_NANOS) && inFlight.add(record.uid)) {
      askedAt.put(record.uid, now);
      String uid = record.uid;
      String namespace = record.namespace;
      String name = record.name;
      try {
        reader.execute(() -> read(uid, namespace, name, now));
      } catch (RejectedExecutionException e) {
        inFlight.remove(uid); // closing
      }
    }
    return read == null || now - read.atNanos() > MAX_AGE_NANOS ? null : read;
  }

  /** Keeps the answers about these records only: the others are gone, or back in view (and start afresh). */
  void retainOnly(Set<String> uids) {
    reads.keySet().retainAll(uids);
    askedAt.keySet().retainAll(uids);
  }

  private void read(String uid, String namespace, String name, long askedAt) {
    try {
      SupervisedDomain domain = view.fresh(namespace, name, uid);
      reads.put(uid, domain == null ? new Read(State.GONE, null, askedAt) : new Read(State.PRESENT, domain, askedAt));
      onRead.run();
    } catch (RuntimeException e) {
      // The API server cannot say: the last answer stands (as a lagging cache would), and the next pass asks again.
      log.warn("event=out-of-view-read-failed domain={}/{} node={} error=\"{}\"", namespace, name, node, e.toString());
    } finally {
      inFlight.remove(uid);
    }
  }

  @Override
  public void close() {
    reader.shutdownNow();
  }
}
