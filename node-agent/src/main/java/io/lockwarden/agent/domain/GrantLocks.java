package io.lockwarden.agent.domain;

import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which local lock each grant takes on this node: the node's policy decides whether, and on which file. A grant being
 * used keeps the target it was resolved to while a later resolution fails (a path gone for a moment, a symlink being
 * replaced): a held lock is never dropped because a lookup failed (docs/safety.md, AGENT-8).
 */
public final class GrantLocks {
  private static final Logger log = LoggerFactory.getLogger(GrantLocks.class);

  private final NodePolicy policy;
  /** The last target each grant (by "lease,epoch") resolved to while in use. */
  private final Map<String, SupervisorArgs.Lock> lastGood = new HashMap<>();
  /** Grants whose failed resolution was logged: once until it resolves again. */
  private final Set<String> warned = new java.util.HashSet<>();

  public GrantLocks(NodePolicy policy) {
    this.policy = policy;
  }

  /**
   * The lock for a grant about to be taken: the policy must allow its disk now.
   *
   * @throws NodePolicy.Refused if the node's policy refuses the grant's disk
   */
  public SupervisorArgs.Lock lockFor(Grant grant) throws NodePolicy.Refused {
    Path canonical = policy.canonicalDisk(grant.path());
    warned.remove(grant.key());
    SupervisorArgs.Lock lock = new SupervisorArgs.Lock(grant.lockMode(), grant.epoch(), grant.leaseName(), grant.path(),
        canonical);
    lastGood.put(grant.key(), lock);
    return lock;
  }

  /**
   * The lock for a grant already in use: as {@link #lockFor}, but when the resolution fails, the last good target is
   * kept until the grant ends.
   *
   * @throws NodePolicy.Refused if it fails and the grant never resolved before
   */
  public SupervisorArgs.Lock lockInUse(Grant grant) throws NodePolicy.Refused {
    try {
      return lockFor(grant);
    } catch (NodePolicy.Refused e) {
      SupervisorArgs.Lock kept = lastGood.get(grant.key());
      if (kept == null) {
        throw e;
      }
      if (warned.add(grant.key())) {
        log.warn("event=resolution-failed lease={} epoch={} path={} kept={} error=\"{}\" note=the held lock stays",
            grant.leaseName(), grant.epoch(), grant.path(), kept.path(), e.getMessage());
      }
      return kept;
    }
  }

  /**
   * A lock an adopted supervisor holds or wants, from before this agent's restart: the last good target of its grant,
   * so that a path failing to resolve after a restart keeps it too.
   */
  public void remember(SupervisorArgs.Lock lock) {
    lastGood.putIfAbsent(lock.lease() + "," + lock.epoch(), lock);
  }

  /** Forgets the grants no longer held on this node. */
  public void retain(Set<String> heldGrantKeys) {
    lastGood.keySet().retainAll(heldGrantKeys);
    warned.retainAll(heldGrantKeys);
  }
}
