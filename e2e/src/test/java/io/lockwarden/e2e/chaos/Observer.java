package io.lockwarden.e2e.chaos;

import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Watches the domains as a user would (polling, about once a second) and counts what the summary reports: hand-offs
 * (completed migrations), fail-overs (a running domain that comes back running on another node without a migration)
 * and the fail-over time, from the start of the fault on the node it left to running on the new node.
 */
final class Observer {
  private final LocalSystem system;
  /** Domain uid to the node it was last seen running on. */
  private final Map<String, String> lastRunningNode = new HashMap<>();
  private final Set<String> migrations = new HashSet<>();
  private int handOffs;
  private int failedMigrations;
  private int failOvers;
  private long worstFailOverMillis = -1;
  private String worstFailOver = "none";

  Observer(LocalSystem system) {
    this.system = system;
  }

  /** One look at every domain. {@code nodeFaultSince}: node name to the start of its last agent-level fault. */
  void look(Map<String, Long> nodeFaultSince) {
    List<SupervisedDomain> domains;
    try {
      domains = system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems();
    } catch (RuntimeException e) {
      return; // the API server is down: look again later
    }
    long now = System.currentTimeMillis();
    for (SupervisedDomain d : domains) {
      if (d.getStatus() == null) {
        continue;
      }
      String uid = d.getMetadata().getUid();
      MigrationStatus m = d.getStatus().migration;
      if (m != null && m.startedAt != null && !MigrationStatus.isActive(m) && migrations.add(uid + m.startedAt)) {
        if (MigrationStatus.COMPLETED.equals(m.phase)) {
          handOffs++;
        } else {
          failedMigrations++;
        }
      }
      if (d.getStatus().phase != DomainPhase.Running || d.getStatus().node == null) {
        continue;
      }
      String before = lastRunningNode.put(uid, d.getStatus().node);
      boolean migrated = m != null && MigrationStatus.COMPLETED.equals(m.phase) && d.getStatus().node.equals(m.target);
      if (before != null && !before.equals(d.getStatus().node) && !migrated) {
        failOvers++;
        Long since = nodeFaultSince.get(before);
        if (since != null && now - since > worstFailOverMillis) {
          worstFailOverMillis = now - since;
          worstFailOver = d.getMetadata().getName() + " from " + before + " to " + d.getStatus().node;
        }
      }
    }
  }

  String summary() {
    return "hand-offs " + handOffs + " (and " + failedMigrations + " migrations cancelled or failed), fail-overs "
        + failOvers + ", worst fail-over " + (worstFailOverMillis < 0 ? "n/a" : worstFailOverMillis + " ms ("
        + worstFailOver + ")");
  }
}
