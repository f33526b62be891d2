package io.lockwarden.agent.heartbeat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.TimingConfigMap;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's timing as this agent last saw it: an informer on the one ConfigMap {@code lockwarden-timing} (a list
 * and a watch with {@code metadata.name} as field selector, which RBAC can confine to that name).
 *
 * <p>A watch rather than a get every few renewals: it costs one idle connection and no request while nothing changes,
 * where a get would add a request per node every few renewals; and a change reaches the agent at once, so agents that
 * started before the operator renew from the first heartbeat after it published.
 *
 * <p>While the watch is down the last value seen stands: renewals need the API server anyway. It never gives up:
 * an agent that could not list the ConfigMap would otherwise refuse to renew for good.
 */
public final class PublishedTiming implements Supplier<Map<String, String>>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PublishedTiming.class);

  private final String namespace;
  private final SharedIndexInformer<ConfigMap> informer;

  public PublishedTiming(KubernetesClient client, String namespace) {
    this.namespace = namespace;
    this.informer = client.configMaps().inNamespace(namespace).withName(TimingConfigMap.NAME).runnableInformer(0);
    informer.exceptionHandler((started, error) -> {
      log.warn("event=timing-watch-failed namespace={} configMap={} error=\"{}\" note=retrying", namespace,
          TimingConfigMap.NAME, error.getMessage());
      return true;
    });
  }

  /**
   * Calls {@code listener} with the ConfigMap's uid and data on each version the watch delivers, on the watch's thread: the
   * quorum learns the operator's rounds the moment they arrive (docs/safety.md, TIME-4).
   */
  public PublishedTiming onChange(java.util.function.BiConsumer<String, Map<String, String>> listener) {
    informer.addEventHandler(new io.fabric8.kubernetes.client.informers.ResourceEventHandler<>() {
      @Override
      public void onAdd(ConfigMap map) {
        listener.accept(map.getMetadata().getUid(), map.getData() == null ? Map.of() : map.getData());
      }

      @Override
      public void onUpdate(ConfigMap old, ConfigMap map) {
        listener.accept(map.getMetadata().getUid(), map.getData() == null ? Map.of() : map.getData());
      }

      @Override
      public void onDelete(ConfigMap map, boolean unknownFinalState) {
        // The last values stand: a deleted ConfigMap carries no new round.
      }
    });
    return this;
  }

  /** Starts listing and watching; returns at once. */
  public PublishedTiming start() {
    informer.start();
    return this;
  }

  /** The ConfigMap's data; null while it does not exist, or before it was first listed. */
  @Override
  public Map<String, String> get() {
    if (!informer.hasSynced()) {
      return null;
    }
    ConfigMap map = informer.getStore().getByKey(namespace + "/" + TimingConfigMap.NAME);
    return map == null ? null : map.getData() == null ? Map.of() : map.getData();
  }

  @Override
  public void close() {
    informer.close();
  }
}
