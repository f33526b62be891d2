package io.lockwarden.operator.fence;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.javaoperatorsdk.operator.processing.event.Event;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.AbstractEventSource;
import java.util.Set;
import java.util.function.Function;

/** Triggers a controller's reconciles for the resources touched by a node becoming alive or dead. */
public final class NodeLivenessEventSource<P extends HasMetadata> extends AbstractEventSource<Void, P> {
  /** @param affected for a node, the primaries to reconcile when its liveness changes */
  public NodeLivenessEventSource(NodeLiveness liveness, Function<String, Set<ResourceID>> affected) {
    super(Void.class, "node-liveness");
    // Registered once, here: JOSDK may stop and start event sources as leadership comes and goes.
    liveness.onChange(node -> {
      if (isRunning()) {
        affected.apply(node).forEach(id -> getEventHandler().handleEvent(new Event(id)));
      }
    });
  }

  @Override
  public Set<Void> getSecondaryResources(P primary) {
    return Set.of();
  }
}
