package io.lockwarden.operator.domain;

import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.util.List;
import java.util.function.Predicate;

/** Where a domain runs: the node the operator places it on, and where it goes when that node dies. */
public final class Placement {
  private Placement() {}

  /**
   * @param alive grants may go to this node
   * @param dead this node was declared dead
   * @param holdsGrants the domain still holds a grant somewhere
   * @return the node to place the domain on, or null if none can be chosen yet
   */
  public static String choose(SupervisedDomain domain, Predicate<String> alive, Predicate<String> dead,
      boolean holdsGrants) {
    if (domain.getSpec().attach != null) {
      return attached(domain, holdsGrants);
    }
    io.lockwarden.api.v1alpha1.Placement spec = domain.getSpec().placement;
    List<String> candidates = spec.nodeName != null ? List.of(spec.nodeName) : spec.nodes;
    String current = domain.getStatus() == null ? null : domain.getStatus().node;
    if (current != null) {
      // A node the domain was migrated to (and spec.migration still names) is as good as a candidate.
      boolean migratedHere = domain.getSpec().migration != null && current.equals(domain.getSpec().migration.targetNode);
      boolean stillCandidate = candidates.contains(current) || migratedHere;
      if (stillCandidate && !dead.test(current)) {
        return current;
      }
      if (stillCandidate || holdsGrants) {
        // The node is dead: move only if asked to, and only to a node that is alive.
        if (spec.failover == FailoverPolicy.Manual || !dead.test(current)) {
          return current;
        }
        return candidates.stream().filter(n -> !n.equals(current)).filter(alive).findFirst().orElse(current);
      }
      // The user changed the candidates and nothing is held on the old node: place afresh.
    }
    if (spec.nodeName != null) {
      return spec.nodeName;
    }
    return candidates.stream().filter(alive).findFirst().orElse(null);
  }

  /**
   * An attached domain runs where libvirt runs it (spec.attach.node, written by that node's agent), if the placement,
   * when given, allows that node. It moves only once it holds nothing where it was: libvirt's migration releases on the
   * source before the target acquires, and a grant is never taken from a holder to follow a spec.
   */
  private static String attached(SupervisedDomain domain, boolean holdsGrants) {
    String wanted = domain.getSpec().attach.node;
    String current = domain.getStatus() == null ? null : domain.getStatus().node;
    if (current != null && !current.equals(wanted) && holdsGrants) {
      return current;
    }
    io.lockwarden.api.v1alpha1.Placement spec = domain.getSpec().placement;
    if (wanted == null || (spec != null && !spec.allows(wanted))) {
      return current != null && holdsGrants ? current : null;
    }
    return wanted;
  }
}
