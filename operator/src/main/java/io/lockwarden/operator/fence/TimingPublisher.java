package io.lockwarden.operator.fence;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.lockwarden.api.TimingConfigMap;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes the timing this operator declares nodes dead by ({@code nodeTimeout}, {@code grace}) in the ConfigMap
 * {@code lockwarden-timing} of its namespace. Agents renew their node Lease only while their {@code fenceTimeout} +
 * 200 ms stays below {@code nodeTimeout + grace} as published (docs/safety.md, TIME-2): what the chart checks once at
 * render time, every agent then checks before every renewal.
 *
 * <p>Only an operator that decides publishes: the leader, or every replica when leader election is off (they all
 * decide then, and must share one configuration). A standby never writes: during a rolling change of timings, its
 * values are not the ones node deaths are decided by.
 *
 * <p>It writes when it starts deciding (create, or update if anything differs, its identity included), then looks
 * again every {@link #CHECK}: that retries a write the API server refused, and puts back a ConfigMap deleted or edited
 * by hand, without which every agent would stop renewing. Those later looks rewrite only a changed timing, so
 * replicas without leader election never take turns at {@code publishedBy}. It writes only its own keys:
 * {@link QuorumRounds} keeps the round and the member sets in the same ConfigMap.
 */
public final class TimingPublisher implements AutoCloseable {
  static final Duration CHECK = Duration.ofSeconds(10);
  private static final Logger log = LoggerFactory.getLogger(TimingPublisher.class);

  private final KubernetesClient client;
  private final String namespace;
  private final Map<String, String> desired;
  private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread thread = new Thread(r, "timing-publisher");
    thread.setDaemon(true);
    return thread;
  });
  private volatile boolean claimed;

  public TimingPublisher(KubernetesClient client, String namespace, Duration nodeTimeout, Duration grace,
      String identity) {
    this.client = client;
    this.namespace = namespace;
    this.desired = TimingConfigMap.data(nodeTimeout, grace, identity);
  }

  /** Called when this operator starts deciding: publishes now, then keeps the ConfigMap as published. */
  public void start() {
    ticker.scheduleWithFixedDelay(() -> {
      try {
        publish();
      } catch (RuntimeException e) {
        // A scheduled task that throws is never run again; the next look retries.
        log.warn("event=timing-publish-failed namespace={} configMap={} error=\"{}\" note=retried in {}", namespace,
            TimingConfigMap.NAME, e.getMessage(), CHECK);
      }
    }, 0, CHECK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** One look: create the ConfigMap, or update it if it differs. Returns whether it wrote. */
  boolean publish() {
    ConfigMap existing = client.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).get();
    if (existing == null) {
      client.resource(new ConfigMapBuilder().withNewMetadata().withName(TimingConfigMap.NAME).withNamespace(namespace)
          .endMetadata().withData(desired).build()).create();
      logPublished("created", null);
      claimed = true;
      return true;
    }
    Map<String, String> data = existing.getData() == null ? Map.of() : existing.getData();
    boolean timingDiffers = Stream.of(TimingConfigMap.NODE_TIMEOUT, TimingConfigMap.GRACE)
        .anyMatch(key -> !Objects.equals(data.get(key), desired.get(key)));
    boolean mineDiffer = desired.entrySet().stream().anyMatch(e -> !Objects.equals(data.get(e.getKey()), e.getValue()));
    boolean write = timingDiffers || (!claimed && mineDiffer);
    if (write) {
      // Only our keys: the round and the member sets are QuorumRounds', and their history must survive this write.
      Map<String, String> merged = new HashMap<>(data);
      merged.putAll(desired);
      existing.setData(merged);
      try {
        client.resource(existing).update(); // carries the resourceVersion read: a write in between wins, we look again
      } catch (KubernetesClientException e) {
        if (e.getCode() == 409) {
          log.info("event=timing-publish-conflict namespace={} note=written meanwhile; looked at again in {}",
              namespace, CHECK);
          return false;
        }
        throw e;
      }
      logPublished("updated", data);
    }
    claimed = true;
    return write;
  }

  private void logPublished(String action, Map<String, String> previous) {
    log.info("event=timing-published namespace={} configMap={} action={} nodeTimeout={} grace={} publishedBy={}"
            + " previous=\"{}\"", namespace, TimingConfigMap.NAME, action, desired.get(TimingConfigMap.NODE_TIMEOUT),
        desired.get(TimingConfigMap.GRACE), desired.get(TimingConfigMap.PUBLISHED_BY),
        previous == null ? "" : previous);
  }

  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
