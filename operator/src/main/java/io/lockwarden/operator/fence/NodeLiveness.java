package io.lockwarden.operator.fence;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.NodeLeases;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
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
 */
public final class NodeLiveness implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(NodeLiveness.class);

  private final KubernetesClient client;
  private final String namespace;
  private final LongSupplier clock;
  private final Heartbeats heartbeats;
  private final Map<String, String> lastRenewTime = new ConcurrentHashMap<>();
  /** Nodes confirmed dead and fenced since their last renewal. */
  private final Set<String> fenced = ConcurrentHashMap.newKeySet();
  private final CopyOnWriteArrayList<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "node-liveness");
    thread.setDaemon(true);
    return thread;
  });
  private volatile SharedIndexInformer<Lease> informer;
  private volatile Set<String> alive = Set.of();
  private volatile Set<String> dead = Set.of();

  public NodeLiveness(KubernetesClient client, String namespace, Duration nodeTimeout, Duration grace) {
    this(client, namespace, nodeTimeout, grace, System::nanoTime);
  }

  NodeLiveness(KubernetesClient client, String namespace, Duration nodeTimeout, Duration grace, LongSupplier clock) {
    this.client = client;
    this.namespace = namespace;
    this.heartbeats = new Heartbeats(nodeTimeout.plus(grace).toNanos());
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
        // The node stops renewing: it goes dead one period after its last renewal, like any silent node.
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

  /** Silent for a full period of watching: its grants may be revoked. */
  public boolean isDead(String node) {
    return node != null && heartbeats.isDead(node, clock.getAsLong());
  }

  /**
   * Called before a dead node's grants are revoked. Being dead by this operator's clock is not enough: the operator
   * may have been paused, or its watch late, while the node renewed. So: read the node's Lease from the API server; a
   * renewal we had not seen means alive. Otherwise fence it: mark the Lease with an update carrying the
   * resourceVersion just read. A renewal committed in between makes that update fail, and the node is alive; a
   * renewal after it is based on the fenced version, so the agent can never extend a deadline from a renewal that raced
   * this decision (the agent renews with optimistic concurrency too, see docs/safety.md TIME-2).
   */
  public boolean confirmDead(String node) {
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
        heartbeats.renewed(node, clock.getAsLong());
        fenced.remove(node);
      }
      tick();
    });
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
    for (String node : heartbeats.nodes()) {
      if (heartbeats.isDead(node, now)) {
        nowDead.add(node);
      } else if (heartbeats.isAlive(node, now)) {
        nowAlive.add(node);
      }
    }
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
