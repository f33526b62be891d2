package io.lockwarden.operator.observe;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.Durations;
import io.lockwarden.api.Members;
import io.lockwarden.api.v1alpha1.Conditions;
import io.lockwarden.api.v1alpha1.Quorum;
import io.lockwarden.api.v1alpha1.QuorumConditions;
import io.lockwarden.api.v1alpha1.QuorumStatus;
import io.lockwarden.operator.fence.NodeLiveness;
import io.lockwarden.operator.fence.QuorumGate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says when fencing is suspended (docs/safety.md, TIME-4; issue #15): some node is dead by its heartbeats, but no
 * majority of the member set acknowledges the operator's rounds, so nobody is fenced. Most nodes cannot reach the API
 * server, or this operator cannot; their VMs run on their peers' promises. Reported four ways: the {@code Disruption}
 * condition of the {@link Quorum} object {@value Quorum#NAME} in the operator's namespace, an Event on it when it
 * starts and ends, the gauges {@code lockwarden_fencing_suspended}, {@code lockwarden_quorum_members} and {@code
 * lockwarden_quorum_acknowledging}, and one log line each way.
 *
 * <p>Run by the operator that decides only: a standby writes no rounds, so nothing ever acknowledges it, and its
 * view would be a disruption that is not one.
 */
public final class QuorumReport implements AutoCloseable {
  static final Duration PERIOD = Duration.ofSeconds(1);
  private static final Logger log = LoggerFactory.getLogger(QuorumReport.class);

  /** The Events on the Quorum object. */
  enum Reason {
    FencingSuspended, FencingResumed
  }

  private final KubernetesClient client;
  private final String namespace;
  private final NodeLiveness liveness;
  private final QuorumGate quorum;
  private final OperatorMetrics metrics;
  private final EventRecorder events;
  private final LongSupplier clock;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "quorum-report");
    thread.setDaemon(true);
    return thread;
  });
  private boolean suspended;
  /** The status last written, round left out: the round alone changes twice a second and is not worth a write. */
  private QuorumStatus written;
  private String failing;

  public QuorumReport(KubernetesClient client, String namespace, NodeLiveness liveness, QuorumGate quorum,
      OperatorMetrics metrics, EventRecorder events) {
    this(client, namespace, liveness, quorum, metrics, events, System::nanoTime);
  }

  QuorumReport(KubernetesClient client, String namespace, NodeLiveness liveness, QuorumGate quorum,
      OperatorMetrics metrics, EventRecorder events, LongSupplier clock) {
    this.client = client;
    this.namespace = namespace;
    this.liveness = liveness;
    this.quorum = quorum;
    this.metrics = metrics;
    this.events = events;
    this.clock = clock;
  }

  /** Called when this operator starts deciding. */
  public void start() {
    ticker.scheduleWithFixedDelay(() -> {
      try {
        report();
      } catch (RuntimeException e) {
        // A scheduled task that throws is never run again; the next tick tries again.
        log.error("event=quorum-report-failed error=\"{}\"", e.toString());
      }
    }, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
  }

  synchronized void report() {
    long now = clock.getAsLong();
    Members members = quorum.members();
    int acknowledging = quorum.acknowledging(members, now);
    Set<String> suspects = liveness.suspects();
    boolean nowSuspended = !suspects.isEmpty();
    metrics.quorum(members.size(), acknowledging, nowSuspended);
    String detail = "members=" + members.size() + " acknowledging=" + acknowledging + " suspects="
        + String.join(",", suspects);
    if (nowSuspended != suspended) {
      suspended = nowSuspended;
      if (nowSuspended) {
        log.warn("event=fencing-suspended {} note=too few members acknowledge the operator's rounds (the silent ones "
            + "could make a majority); nobody is fenced", detail);
      } else {
        log.info("event=fencing-resumed {}", detail);
      }
      Quorum object = object();
      if (object != null) {
        if (nowSuspended) {
          events.warning(object, Reason.FencingSuspended.name(), message(true, members, acknowledging, suspects));
        } else {
          events.normal(object, Reason.FencingResumed.name(), message(false, members, acknowledging, suspects));
        }
      }
    }
    writeStatus(members, acknowledging, suspects);
  }

  private void writeStatus(Members members, int acknowledging, Set<String> suspects) {
    QuorumStatus status = new QuorumStatus();
    status.members = members.size();
    status.acknowledging = acknowledging;
    status.window = Durations.format(quorum.window());
    status.suspectNodes = new ArrayList<>(suspects);
    QuorumConditions.Reason reason = suspended ? QuorumConditions.Reason.MajorityNotAcknowledging
        : QuorumConditions.Reason.MajorityAcknowledging;
    String message = message(suspended, members, acknowledging, suspects);
    if (written != null && sameExceptRound(written, status, message)) {
      return;
    }
    try {
      Quorum object = object();
      if (object == null) {
        return;
      }
      List<Condition> previous = object.getStatus() == null ? null : object.getStatus().conditions;
      status.conditions = List.of(Conditions.next(previous, QuorumConditions.DISRUPTION, suspended, reason.name(),
          message, object.getMetadata().getGeneration(), Instant.now()));
      status.round = quorum.latestRound();
      object.setStatus(status);
      client.resource(object).updateStatus(); // carries the resourceVersion read; a 409 is retried next tick
      written = status;
      if (failing != null) {
        log.info("event=quorum-status-written namespace={} name={}", namespace, Quorum.NAME);
        failing = null;
      }
    } catch (KubernetesClientException e) {
      failed(e);
    }
  }

  /** One line when writing the object starts failing (no CRD, no right, no API server); the next success says so. */
  private void failed(KubernetesClientException e) {
    if (failing == null) {
      log.warn("event=quorum-status-failed namespace={} name={} error=\"{}\" note=retried every {}; fencing does not"
          + " depend on it", namespace, Quorum.NAME, e.getMessage(), PERIOD);
    }
    failing = e.getMessage();
  }

  private static boolean sameExceptRound(QuorumStatus written, QuorumStatus status, String message) {
    return Objects.equals(written.members, status.members) && Objects.equals(written.acknowledging, status.acknowledging)
        && Objects.equals(written.window, status.window) && Objects.equals(written.suspectNodes, status.suspectNodes)
        && message.equals(written.conditions.get(0).getMessage());
  }

  /** The one Quorum object, created the first time. Null when it can be neither read nor made (logged). */
  private Quorum object() {
    try {
      Quorum object = client.resources(Quorum.class).inNamespace(namespace).withName(Quorum.NAME).get();
      if (object != null) {
        return object;
      }
      Quorum fresh = new Quorum();
      fresh.setMetadata(new ObjectMetaBuilder().withName(Quorum.NAME).withNamespace(namespace).build());
      try {
        return client.resource(fresh).create();
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) { // made meanwhile, by another replica without leader election
          return client.resources(Quorum.class).inNamespace(namespace).withName(Quorum.NAME).get();
        }
        throw e;
      }
    } catch (KubernetesClientException e) {
      failed(e);
      return null;
    }
  }

  private String message(boolean isSuspended, Members members, int acknowledging, Set<String> suspects) {
    String counts = acknowledging + " of " + members.size() + " members acknowledge a round written within "
        + Durations.format(quorum.window()) + " (" + members.acknowledgersNeeded() + " needed)";
    Members previous = quorum.previousMembers();
    if (previous.size() > 0) {
      counts += ", " + quorum.acknowledging(previous, clock.getAsLong()) + " of the " + previous.size()
          + " previous members (" + previous.acknowledgersNeeded() + " needed)";
    }
    // Not suspended means no suspects: a majority acknowledges, or no silent node waits to be fenced.
    return isSuspended ? "fencing suspended: " + counts + "; silent but not fenced: " + String.join(", ", suspects)
        : counts + "; no silent node waits to be fenced";
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
