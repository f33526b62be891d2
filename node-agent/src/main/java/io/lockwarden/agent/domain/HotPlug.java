package io.lockwarden.agent.domain;

import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The seed's AcquireResource and ReleaseResource for a running domain: the supervisor's wanted locks follow the wanted
 * grants. The supervisor takes a new lock only while the right is proven, and lets go of one only when no process of
 * the domain can still write through it.
 */
public final class HotPlug {
  private static final Logger log = LoggerFactory.getLogger(HotPlug.class);

  private final String node;
  private final GrantLocks grantLocks;
  private final Refusals refusals;

  public HotPlug(String node, GrantLocks grantLocks, Refusals refusals) {
    this.node = node;
    this.grantLocks = grantLocks;
    this.refusals = refusals;
  }

  public void apply(DomainRecord record, Supervision supervision, DomainGrants grants) {
    List<SupervisorArgs.Lock> wanted = new ArrayList<>();
    for (Grant grant : grants.wanted()) {
      try {
        wanted.add(grantLocks.lockInUse(grant));
      } catch (NodePolicy.Refused e) {
        refusals.refuse(record, NodePolicy.PATH_NOT_ALLOWED, e.getMessage());
      }
    }
    List<SupervisorArgs.Lock> current = supervision.wantedLocks();
    if (!new HashSet<>(wanted).equals(new HashSet<>(current))) {
      try {
        supervision.wantLocks(wanted);
        log.info("event=hot-plug domain={} node={} locks={}", record.key(), node,
            wanted.stream().map(l -> l.lease() + "@" + l.epoch()).toList());
      } catch (IOException e) {
        log.error("event=hot-plug-failed domain={} node={} error=\"{}\"", record.key(), node, e.getMessage());
      }
    }
  }
}
