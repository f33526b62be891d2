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
    if (domain.getSpec() != null && domain.getSpec().attach != null) {
      // An attached domain runs where libvirt acquired, once the operator has placed it there. Until then it runs
      // nowhere: a grant made on a placement the spec has already moved away from would go to the old node, whose
      // libvirt has released the disk and whose QEMU is about to be ended by libvirt.
      return placed != null && placed.equals(domain.getSpec().attach.node) ? placed : null;
    }
    if (placed != null || domain.getSpec() == null) {
      return placed;
    }
    return domain.getSpec().placement == null ? null : domain.getSpec().placement.nodeName;
  }

  /** Another program (libvirt) starts this domain's process; lockwarden attaches to it. */
  public static boolean attached(SupervisedDomain domain) {
    return domain.getSpec() != null && domain.getSpec().attach != null;
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
    return !completed(domain) && !refused(domain);
  }

  /**
   * Running=False with a refusal for the current generation: of the node's policy (ExecutableNotAllowed,
   * PathNotAllowed), or an attached domain whose process is gone from a node that cannot start it again
   * (ProcessGone). The domain cannot run where it is placed, so it holds no lease until its spec changes (hole l: an
   * unrunnable domain must not block its disks for everyone, nor be granted and released over and over).
   */
  public static boolean refused(SupervisedDomain domain) {
    return refusal(domain) != null;
  }

  /** The Running=False condition of a refusal (see {@link #refused}) for the current generation, or null. */
  public static Condition refusal(SupervisedDomain domain) {
    for (String reason : List.of(DomainConditions.REASON_EXECUTABLE_NOT_ALLOWED,
        DomainConditions.REASON_PATH_NOT_ALLOWED, DomainConditions.REASON_PROCESS_GONE)) {
      Condition condition = runningFalseFor(domain, reason);
      if (condition != null) {
        return condition;
      }
    }
    return null;
  }

  /** The Running condition if it is False with {@code reason} for the current generation, else null. */
  public static Condition runningFalseFor(SupervisedDomain domain, String reason) {
    List<Condition> conditions = domain.getStatus() == null ? null : domain.getStatus().conditions;
    return conditions == null ? null : conditions.stream().filter(c -> DomainConditions.RUNNING.equals(c.getType())
        && "False".equals(c.getStatus()) && reason.equals(c.getReason())
        && Objects.equals(c.getObservedGeneration(), domain.getMetadata().getGeneration())).findFirst().orElse(null);
  }

  /** Running=False, reason Completed, for the current generation. */
  public static boolean completed(SupervisedDomain domain) {
    List<Condition> conditions = domain.getStatus() == null ? null : domain.getStatus().conditions;
    return conditions != null && conditions.stream().anyMatch(c -> DomainConditions.RUNNING.equals(c.getType())
        && DomainConditions.REASON_COMPLETED.equals(c.getReason())
        && Objects.equals(c.getObservedGeneration(), domain.getMetadata().getGeneration()));
  }
}
