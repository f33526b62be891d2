package io.lockwarden.agent.domain;

import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.ReleasedGrant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The agent's side of ARB-4: which grants it reports released. A grant is released only when no process of the domain
 * can use it any more: it is not among the supervisor's wanted locks nor among the locks it reports holding, and no
 * process of the domain is left (a supervisor that is gone may have left processes behind).
 */
public final class Releases {

  public List<ReleasedGrant> released(DomainRecord record, SupervisorState state, DomainGrants grants) {
    Set<String> maybeLocked = new HashSet<>();
    if (record.supervision != null) {
      List<SupervisorArgs.Lock> locks = new ArrayList<>(record.supervision.wantedLocks());
      if (state == null || state.locks == null || "Starting".equals(state.phase)) {
        locks.addAll(record.supervision.args().locks()); // still taking the locks it started with
      } else {
        state.locks.forEach(line -> locks.add(SupervisorArgs.Lock.parse(line)));
      }
      if (state != null && state.heldLocks != null) {
        // A held migration source still has every disk it held open, in a stopped process that may run again.
        state.heldLocks.forEach(line -> locks.add(SupervisorArgs.Lock.parse(line)));
      }
      locks.forEach(l -> maybeLocked.add(l.lease() + "," + l.epoch()));
    } else if (record.remains.alive() || !record.drainOwed.isEmpty()) {
      return List.of(); // something of the domain may still write, or what it wrote is not on the storage yet
    }
    return grants.held().stream().filter(g -> !grants.wanted().contains(g) && !maybeLocked.contains(g.key()))
        .map(Grant::released).toList();
  }
}
