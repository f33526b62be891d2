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
}
