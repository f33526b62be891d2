package io.lockwarden.operator.observe;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kubernetes Events for what users watch with kubectl describe: grants, conflicts, fencing, fail-over. Sent off the
 * reconcile thread; an event that cannot be written is logged and dropped, never allowed to fail a decision.
 */
public final class EventRecorder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EventRecorder.class);

  /** Where the API server wants events about cluster-scoped objects, such as DiskLeases. */
  private static final String CLUSTER_EVENT_NAMESPACE = "default";

  private final KubernetesClient client;
  private final String component;
  private final ExecutorService sender = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "events");
    thread.setDaemon(true);
    return thread;
  });

  public EventRecorder(KubernetesClient client, String component) {
    this.client = client;
    this.component = component;
  }

  public void normal(HasMetadata about, String reason, String message) {
    record(about, "Normal", reason, message);
  }

  public void warning(HasMetadata about, String reason, String message) {
    record(about, "Warning", reason, message);
  }

  private void record(HasMetadata about, String type, String reason, String message) {
    String namespace = about.getMetadata().getNamespace() != null ? about.getMetadata().getNamespace() : CLUSTER_EVENT_NAMESPACE;
    String now = Instant.now().toString();
    var event = new EventBuilder()
        .withNewMetadata().withGenerateName(about.getMetadata().getName() + ".").withNamespace(namespace).endMetadata()
        .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(about.getApiVersion()).withKind(about.getKind())
            .withName(about.getMetadata().getName()).withNamespace(about.getMetadata().getNamespace())
            .withUid(about.getMetadata().getUid()).build())
        .withType(type).withReason(reason).withMessage(message)
        .withNewSource().withComponent(component).endSource()
        .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
        .build();
    sender.execute(() -> {
      try {
        client.v1().events().inNamespace(namespace).resource(event).create();
      } catch (RuntimeException e) {
        log.warn("event=event-dropped reason={} object={} error={}", reason, about.getMetadata().getName(), e.getMessage());
      }
    });
  }

  @Override
  public void close() {
    sender.shutdown();
  }
}
