package io.lockwarden.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Builds status conditions the Kubernetes way, for every writer of lockwarden status. */
public final class Conditions {
  private Conditions() {}

  /**
   * The next version of condition {@code type}: its lastTransitionTime moves only when its status changes, so
   * {@code kubectl describe} shows since when a condition holds, and an unchanged condition writes nothing.
   *
   * @param previous the conditions as last written, or null
   */
  public static Condition next(List<Condition> previous, String type, boolean isTrue, String reason, String message,
      Long observedGeneration, Instant now) {
    String status = isTrue ? "True" : "False";
    String since = previous == null ? null : previous.stream()
        .filter(c -> type.equals(c.getType()) && status.equals(c.getStatus()))
        .map(Condition::getLastTransitionTime).filter(Objects::nonNull).findFirst().orElse(null);
    return new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
        .withObservedGeneration(observedGeneration).withLastTransitionTime(since != null ? since : now.toString())
        .build();
  }
}
