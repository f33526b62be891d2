package io.lockwarden.api;

import io.fabric8.kubernetes.api.model.Condition;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.List;
import java.util.Objects;

/** What a domain asks for, read the same way by the operator (to grant) and the node agent (to run and release). */
public final class DomainIntent {
  private DomainIntent() {}

  /**
   * The node the domain runs on: the operator's placement in status.node, or, before that is written, the one node
   * spec.placement.nodeName names, which leaves no choice to make.
   */
  public static String node(SupervisedDomain domain) {
    String placed = domain.getStatus() == null ? null : domain.getStatus().node;
    if (placed != null || domain.getSpec() == null || domain.getSpec().placement == null) {
      return placed;
    }
    return domain.getSpec().placement.nodeName;
  }

  /** namespace/name: how holders and waiters name their domain. */
  public static String key(SupervisedDomain domain) {
    return domain.getMetadata().getNamespace() + "/" + domain.getMetadata().getName();
  }

  /**
   * Whether the domain wants its leases now: not being deleted, asked to run, and not finished for good. The agent
   * says "finished" with condition Running=False, reason Completed, for the generation it saw: an exit its restart
   * policy will not restart. Any later spec change is a new generation, and the domain asks again.
   */
  public static boolean wantsLeases(SupervisedDomain domain) {
    if (domain.getMetadata().getDeletionTimestamp() != null || domain.getSpec() == null) {
      return false;
    }
    if (Boolean.FALSE.equals(domain.getSpec().running)) {
      return false;
    }
    return !completed(domain);
  }

  /** Running=False, reason Completed, for the current generation. */
  public static boolean completed(SupervisedDomain domain) {
    List<Condition> conditions = domain.getStatus() == null ? null : domain.getStatus().conditions;
    return conditions != null && conditions.stream().anyMatch(c -> DomainConditions.RUNNING.equals(c.getType())
        && DomainConditions.REASON_COMPLETED.equals(c.getReason())
        && Objects.equals(c.getObservedGeneration(), domain.getMetadata().getGeneration()));
  }
}
