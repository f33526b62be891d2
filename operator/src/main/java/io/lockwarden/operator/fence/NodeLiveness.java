package io.lockwarden.operator.fence;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.Members;
import io.lockwarden.api.NodeLeases;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which nodes are alive, from the renewals of their {@code lockwarden-node-<node>} Leases, timed on this operator's own
 * monotonic clock.
 *
 * <p>A node is dead once no renewal has been seen for {@code nodeTimeout + grace}. Only time during which this
 * operator was watching successfully counts: at start, and whenever the watch comes back, every node gets a fresh
 * full period. An API-server outage, or a broken watch, therefore never makes a healthy node look dead; it only delays
 * fail-over. The renewal times written in the Lease (the agent's clock) are never compared with this clock, so clock
 * offsets between machines do not matter; see docs/safety.md for the timing argument.
 *
 * <p>A node that never renewed while we watched is not alive (no grants go there), and is dead one full period after
 * we started watching (so grants left on it from before are revoked).
 *
 * <p>Silence is not enough, though (docs/safety.md, TIME-4): a node is declared dead, and fenced, only while the
 * {@link QuorumGate} holds, that is while a majority of the member set acknowledges this operator's recent rounds. When
 * most nodes are silent the API server is the likelier culprit, and their agents may be running their domains on each
 * other's promises: nobody is fenced then, and the silent nodes are only {@linkplain #suspects() suspects}. A node
 * already fenced stays dead whatever the gate says: its renewals are refused, and nothing else extends its deadlines.
 * A suspect gets a fresh full period when the gate opens again, like every node when the watch comes back: when most
 * nodes return after a disruption, the one whose renewal comes a moment after the others' is not fenced for that
 * moment (delaying a death is always on the safe side).
 * Each renewal observed also records the round it acknowledges ({@code lockwarden.io/round}); the member set is made
 * of the node Leases in the informer's cache, with the peer address each advertises ({@code lockwarden.io/peer-address}).
 */
public final class NodeLiveness implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NodeLiveness.class);

  private final KubernetesClient client;
  private final String namespace;
  private final LongSupplier clock;
  private final Heartbeats heartbeats;
  private final QuorumGate quorum;
  private final long periodNanos;
  /** Suspects when the gate last opened, and when: they are not dead before a full period from then. */
  private final Map<String, Long> reprieved = new ConcurrentHashMap<>();
  private boolean gateWasOpen;
  private final Map<String, String> lastRenewTime = new ConcurrentHashMap<>();
  /** Nodes confirmed dead and fenced since their last renewal. */
  private final Set<String> fenced = ConcurrentHashMap.newKeySet();
  /** One monitor per node, so that its fence is confirmed by one caller at a time. */
  private final Map<String, Object> fencing = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "node-liveness");
    thread.setDaemon(true);
    return thread;
  });
  private volatile SharedIndexInformer<Lease> informer;
  private volatile Set<String> alive = Set.of();
  private volatile Set<String> dead = Set.of();
  private volatile Set<String> suspects = Set.of();

  public NodeLiveness(KubernetesClient client, String namespace, Duration nodeTimeout, Duration grace,
      QuorumGate quorum) {
    this(client, namespace, nodeTimeout, grace, quorum, System::nanoTime);
  }

  NodeLiveness(KubernetesClient client, String namespace, Duration nodeTimeout, Duration grace, QuorumGate quorum,
      LongSupplier clock) {
    this.client = client;
    this.namespace = namespace;
    this.periodNanos = nodeTimeout.plus(grace).toNanos();
    this.heartbeats = new Heartbeats(periodNanos);
    this.quorum = quorum;
    this.clock = clock;
  }

  public static String leaseName(String node) {
    return NodeLeases.name(node);
  }

  public void start() {
    informer = client.leases().inNamespace(namespace).inform(new ResourceEventHandler<>() {
      @Override
      public void onAdd(Lease lease) {
        // Known from now on, but not alive until we see it renew: a Lease left by a dead node looks the same.
        nodeOf(lease).ifPresent(node -> {
          lastRenewTime.put(node, String.valueOf(lease.getSpec().getRenewTime()));
          observed(node, lease);
          heartbeats.known(node, clock.getAsLong());
          tick();
        });
      }

      @Override
      public void onUpdate(Lease old, Lease lease) {
        renewed(lease);
      }

      @Override
      public void onDelete(Lease lease, boolean unknownFinalState) {
        // The node stops renewing: it goes dead one period after its last renewal, like any silent node. It leaves
        // the member set (deleting the Lease is how a node that is gone for good is let go of, operations.md).
        nodeOf(lease).ifPresent(node -> {
          reprieved.remove(node);
          quorum.acknowledged(node, null);
        });
      }
    }, 0);
    ticker.scheduleWithFixedDelay(() -> {
      try {
        tick();
      } catch (RuntimeException e) {
        // A scheduled task that throws is never run again: liveness would freeze. Log and go on.
        log.error("event=liveness-tick-failed error=\"{}\"", e.toString());
      }
    }, 0, 100, TimeUnit.MILLISECONDS);
  }

  /** Whether renewals can be seen right now; part of readiness. */
  public boolean isWatching() {
    return heartbeats.isWatching();
  }

  /** Renewed within the period, as seen while watching: grants may go there. */
  public boolean isAlive(String node) {
    return alive.contains(node);
  }

  /**
   * No Lease was ever seen for this node while watching: no lockwarden agent has run there (or not since this operator
   * started and its Lease was deleted). False while not watching, when nothing is known. Such a node is also dead once
   * the first period has passed, so that grants left on it are revoked; this tells the two apart for people.
   */
  public boolean isUnknown(String node) {
    return node != null && heartbeats.isWatching() && !heartbeats.nodes().contains(node);
  }

  /**
   * Silent for a full period of watching, and either fenced already or the quorum allows fencing now: its grants may be
   * revoked. A node silent while the quorum does not allow fencing is a {@linkplain #suspects() suspect}, not dead, so
   * that placement and status start no fail-over that could not complete.
   */
  public boolean isDead(String node) {
    long now = clock.getAsLong();
    return node != null && heartbeats.isDead(node, now) && (fenced.contains(node) || fencingAllowedFor(node, now));
  }

  /**
   * Whether the quorum allows declaring this silent node dead now. Notes each opening of the gate, here where every
   * decision asks, so that no decision can see the gate open before the suspects of that moment are reprieved.
   */
  private synchronized boolean fencingAllowedFor(String node, long now) {
    boolean allowed = gateOpen(now) && quorum.allowsFencing(now, node);
    Long since = reprieved.get(node);
    return allowed && (since == null || now - since > periodNanos);
  }

  /** The gate now; when it has just opened, every suspect of the moment gets a full period from now. */
  private synchronized boolean gateOpen(long now) {
    boolean allowed = quorum.allowsFencing(now);
    if (allowed && !gateWasOpen) {
      for (String silent : heartbeats.nodes()) {
        if (heartbeats.isDead(silent, now) && !fenced.contains(silent)) {
          reprieved.put(silent, now);
          log.info("event=node-reprieved node={} note=silent while fencing was suspended; a full period from now",
              silent);
        }
      }
    }
    gateWasOpen = allowed;
    return allowed;
  }

  /** Whether a majority acknowledges this operator's recent rounds now (docs/safety.md, TIME-4, QUO-1). */
  public boolean fencingAllowed() {
    return quorum.allowsFencing(clock.getAsLong());
  }

  /** Whether a grant {@code node} holds may be let go of without its report: the gate, not counting that node. */
  public boolean fencingAllowed(String node) {
    return quorum.allowsFencing(clock.getAsLong(), node);
  }

  /** Nodes silent for a full period of watching, not fenced, and not declared dead for want of a majority; sorted. */
  public Set<String> suspects() {
    return suspects;
  }

  /**
   * Every node with a {@code lockwarden-node-} Lease in the informer's cache, with the peer address its latest version
   * advertises; empty until the first list is in and while not watching (a set made of some of the Leases would drop
   * the others).
   */
  public Optional<Members> observedMembers() {
    SharedIndexInformer<Lease> current = informer;
    if (current == null || !current.hasSynced() || !heartbeats.isWatching()) {
      return Optional.empty();
    }
    Map<String, String> addresses = new TreeMap<>();
    for (Lease lease : current.getStore().list()) {
      nodeOf(lease).ifPresent(node -> addresses.put(node, peerAddress(lease)));
    }
    return Optional.of(new Members(addresses));
  }

  /** {@code host:port}, or "" when absent or unusable in the published form (which separates entries by , and =). */
  private static String peerAddress(Lease lease) {
    Map<String, String> annotations = lease.getMetadata().getAnnotations();
    String address = annotations == null ? null : annotations.get(NodeLeases.PEER_ANNOTATION);
    return address == null || address.contains(",") || address.contains("=") ? "" : address.trim();
  }

  /**
   * Called before a dead node's grants are revoked. Being dead by this operator's clock is not enough: the operator
   * may have been paused, or its watch late, while the node renewed. So: read the node's Lease from the API server; a
   * renewal we had not seen means alive. Otherwise fence it: mark the Lease with an update carrying the
   * resourceVersion just read. A renewal committed in between makes that update fail, and the node is alive; a
   * renewal after it is based on the fenced version, so the agent can never extend a deadline from a renewal that raced
   * this decision (the agent renews with optimistic concurrency too, see docs/safety.md TIME-2). And only while the
   * quorum allows fencing, checked again just before the fence is written (TIME-4): false, not dead, otherwise.
   */
  public boolean confirmDead(String node) {
    // One at a time per node: the lease controller reconciles many DiskLeases of a dead node at once, and each asks.
    // Unserialised, the first fence write made every concurrent one fail with 409 and call the death refuted, and
    // those leases kept the dead node's grants until their next reconcile, up to maxReconciliationInterval (5 min).
    synchronized (fencing.computeIfAbsent(node, n -> new Object())) {
      return confirmDeadAlone(node);
    }
  }

  private boolean confirmDeadAlone(String node) {
    if (fenced.contains(node)) {
      return true;
    }
    Lease lease = client.leases().inNamespace(namespace).withName(leaseName(node)).get();
    if (lease != null && lease.getSpec() != null) {
      String renewTime = String.valueOf(lease.getSpec().getRenewTime());
      if (!renewTime.equals(lastRenewTime.get(node))) {
        log.info("event=death-refuted node={} note=a renewal the watch had not delivered yet", node);
        renewed(lease);
        return false;
      }
    }
    // Checked again right before the fence is written: the majority may have gone since isDead (QUO-1). The fence is
    // what lets the grants move; a node whose Lease is gone is let go of under the same rule.
    if (!fencingAllowedFor(node, clock.getAsLong())) {
      log.warn("event=fence-withheld node={} note=no majority acknowledges the operator's rounds now, or the node was"
          + " silent while fencing was suspended and is reprieved", node);
      return false;
    }
    if (lease != null && lease.getSpec() != null) {
      Map<String, String> annotations = new HashMap<>(lease.getMetadata().getAnnotations() == null ? Map.of()
          : lease.getMetadata().getAnnotations());
      annotations.put(NodeLeases.FENCED_ANNOTATION, Instant.now().toString());
      lease.getMetadata().setAnnotations(annotations);
      try {
        client.resource(lease).update();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          log.info("event=death-refuted node={} note=the Lease changed while fencing", node);
          return false;
        }
        throw e;
      }
    }
    fenced.add(node);
    log.warn("event=node-fenced node={}", node);
    return true;
  }

  public int aliveCount() {
    return alive.size();
  }

  /** Called with a node's name whenever it becomes alive or dead. */
  public void onChange(Consumer<String> listener) {
    listeners.add(listener);
  }

  private void renewed(Lease lease) {
    nodeOf(lease).ifPresent(node -> {
      String renewTime = String.valueOf(lease.getSpec().getRenewTime());
      // Only a changed renewTime is a renewal; a resync or an unrelated edit is not.
      if (!Objects.equals(lastRenewTime.put(node, renewTime), renewTime)) {
        tick(); // a renewal can arrive before the ticker has noticed the watch is up; it must still count
        observed(node, lease);
        heartbeats.renewed(node, clock.getAsLong());
        fenced.remove(node);
        reprieved.remove(node);
      }
      tick();
    });
  }

  /** The round a renewal acknowledges; an absent or unreadable round acknowledges none. */
  private void observed(String node, Lease lease) {
    Map<String, String> annotations = lease.getMetadata().getAnnotations() == null ? Map.of()
        : lease.getMetadata().getAnnotations();
    String text = annotations.get(NodeLeases.ROUND_ANNOTATION);
    NodeLeases.Acknowledgement ack = NodeLeases.Acknowledgement.parse(text);
    if (ack == null && text != null) {
      log.debug("event=round-unreadable node={} value=\"{}\"", node, text);
    }
    quorum.acknowledged(node, ack);
  }

  private static Optional<String> nodeOf(Lease lease) {
    String name = lease.getMetadata().getName();
    if (!name.startsWith(NodeLeases.PREFIX) || lease.getSpec() == null) {
      return Optional.empty();
    }
    return Optional.of(name.substring(NodeLeases.PREFIX.length()));
  }

  private synchronized void tick() {
    SharedIndexInformer<Lease> current = informer;
    boolean nowWatching = current != null && current.isWatching();
    boolean wasWatching = heartbeats.isWatching();
    long now = clock.getAsLong();
    if (heartbeats.watching(nowWatching, now)) {
      log.info("event=watch-started namespace={} nodes={}", namespace, heartbeats.nodes());
    } else if (wasWatching && !nowWatching) {
      log.warn("event=watch-lost namespace={} note=no node is declared dead until the watch is back", namespace);
    }
    Set<String> nowAlive = new TreeSet<>();
    Set<String> nowDead = new TreeSet<>();
    Set<String> nowSuspect = new TreeSet<>();
    boolean fencingAllowed = gateOpen(now); // every tick, so that no closing of the gate goes unnoticed
    for (String node : heartbeats.nodes()) {
      if (heartbeats.isDead(node, now)) {
        if (fenced.contains(node) || fencingAllowedFor(node, now)) {
          nowDead.add(node);
        } else if (!fencingAllowed) {
          nowSuspect.add(node);
        } // else reprieved: neither dead nor a suspect, the gate holds
      } else if (heartbeats.isAlive(node, now)) {
        nowAlive.add(node);
      }
    }
    suspects = nowSuspect;
    Set<String> changed = new TreeSet<>();
    for (String node : heartbeats.nodes()) {
      if (alive.contains(node) != nowAlive.contains(node) || dead.contains(node) != nowDead.contains(node)) {
        changed.add(node);
      }
    }
    alive = nowAlive;
    dead = nowDead;
    for (String node : changed) {
      log.info("event=node-{} node={}", nowDead.contains(node) ? "dead" : nowAlive.contains(node) ? "alive" : "unknown", node);
      for (Consumer<String> listener : listeners) {
        try {
          listener.accept(node);
        } catch (RuntimeException e) {
          log.error("event=liveness-listener-failed node={} error=\"{}\"", node, e.toString());
        }
      }
    }
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    if (informer != null) {
      informer.close();
    }
  }
}
