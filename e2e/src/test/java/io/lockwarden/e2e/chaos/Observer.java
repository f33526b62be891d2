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
 * (completed migrations), fail-overs (a running domain that comes back running on another node, with no stop and no
 * migration asked for while it ran on the first) and the fail-over time, from the start of the last fault on the node
 * it left (or from when it began running there, if later) to running on the new node.
 */
final class Observer {
  private final LocalSystem system;
  private final Workloads workloads;
  /** Domain uid to the node it was last seen running on. */
  private final Map<String, String> lastRunningNode = new HashMap<>();
  /** Domain uid to when it was first seen running on that node. */
  private final Map<String, Long> runningThereSince = new HashMap<>();
  /** Domains last seen not running (stopped, fenced, starting, ...). */
  private final Set<String> notRunning = new HashSet<>();
  private final Set<String> migrations = new HashSet<>();
  private int handOffs;
  private int failedMigrations;
  private int failOvers;
  private int movedByUser;
  private long worstFailOverMillis = -1;
  private String worstFailOver = "none";

  Observer(LocalSystem system, Workloads workloads) {
    this.system = system;
    this.workloads = workloads;
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
        notRunning.add(uid);
        continue;
      }
      String before = lastRunningNode.put(uid, d.getStatus().node);
      boolean runsAgain = notRunning.remove(uid);
      if (d.getStatus().node.equals(before)) {
        if (runsAgain) {
          runningThereSince.put(uid, now); // stopped and started again on the same node: a new run there
        }
        continue;
      }
      Long ranThereSince = runningThereSince.put(uid, now);
      // status.node names the target as soon as the hand-off moved the grants, before the migration says Completed.
      boolean migrated = m != null && d.getStatus().node.equals(m.target)
          && (MigrationStatus.COMPLETED.equals(m.phase) || MigrationStatus.isActive(m));
      if (before == null || migrated) {
        continue;
      }
      if (workloads.lastMoveAskedMillis(d.getMetadata().getName()) >= ranThereSince) {
        movedByUser++; // stopped and started again elsewhere, or a migration that ended in a fresh start
        continue;
      }
      failOvers++;
      Long fault = nodeFaultSince.get(before);
      if (fault != null) {
        long since = Math.max(fault, ranThereSince);
        if (now - since > worstFailOverMillis) {
          worstFailOverMillis = now - since;
          worstFailOver = d.getMetadata().getName() + " from " + before + " to " + d.getStatus().node;
        }
      }
    }
  }

  String summary() {
    return "hand-offs " + handOffs + " (and " + failedMigrations + " migrations cancelled or failed), fail-overs "
        + failOvers + " (and " + movedByUser + " moves after a stop or a migration asked for), worst fail-over "
        + (worstFailOverMillis < 0 ? "n/a" : worstFailOverMillis + " ms (" + worstFailOver + ")");
  }
}
