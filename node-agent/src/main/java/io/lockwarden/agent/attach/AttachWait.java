package io.lockwarden.agent.attach;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.lockd.LockdError;
import io.lockwarden.agent.lockd.LockdRefusal;
import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.LeaseWaiter;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How a lockd call waits for the cluster: on the agent's informer caches (which see every change in order, each one
 * already stored by the API server) and the supervisor's state file, until a deadline. Never longer: libvirt waits
 * for the reply with its job lock held.
 */
final class AttachWait {
  private static final long POLL_MILLIS = 5;

  private final String node;
  private final ClusterView view;
  private final AttachedDomains domains;
  private final Path domainsDir;
  private final Duration timeout;

  AttachWait(String node, ClusterView view, AttachedDomains domains, Path domainsDir, Duration timeout) {
    this.node = node;
    this.view = view;
    this.domains = domains;
    this.domainsDir = domainsDir;
    this.timeout = timeout;
  }

  /**
   * Until the disk's DiskLease lists the domain on this node and the supervisor holds its lock: null then, else why
   * not (someone else got it first, the node refused the disk, or the deadline passed).
   */
  LockdRefusal grantedAndLocked(SupervisedDomain domain, DomainDisk disk) {
    try {
      return waitGrantedAndLocked(domain, disk);
    } finally {
      domains.doneWaiting(domain.getMetadata().getUid());
    }
  }

  private LockdRefusal waitGrantedAndLocked(SupervisedDomain domain, DomainDisk disk) {
    String uid = domain.getMetadata().getUid();
    RunDir runDir = new RunDir(domainsDir.resolve(uid));
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (DiskLease lease : view.leases()) {
        if (!AttachService.names(lease, disk) || lease.getStatus() == null) {
          continue;
        }
        for (LeaseHolder holder : lease.getStatus().holders) {
          if (uid.equals(holder.uid) && node.equals(holder.node) && holder.mode == disk.mode
              && locked(runDir, lease.getMetadata().getName(), holder.epoch)) {
            return null;
          }
        }
        for (LeaseWaiter waiter : lease.getStatus().waiting) {
          // Waiting behind another holder: busy, at once (virtlockd never queues). Waiting for anything else (the
          // last automatic lease of the path still being deleted, say) passes: the deadline bounds it.
          LeaseHolder holder = !uid.equals(waiter.uid) ? null : lease.getStatus().holders.stream()
              .filter(h -> !uid.equals(h.uid)).findFirst().orElse(null);
          if (holder != null) {
            return AttachService.busy(disk, lease, holder);
          }
        }
      }
      SupervisedDomain cached = domains.cached(domain);
      if (cached != null && cached.getMetadata().getGeneration() < domain.getMetadata().getGeneration()) {
        cached = null; // the cache has not seen our own write yet: what it says predates this call
      }
      if (cached != null && cached.getSpec() != null && cached.getSpec().attach != null
          && cached.getSpec().attach.node != null && !node.equals(cached.getSpec().attach.node)) {
        return new LockdRefusal(LockdError.RESOURCE_BUSY, "SupervisedDomain " + DomainIntent.key(cached)
            + " was taken by node " + cached.getSpec().attach.node + " meanwhile");
      }
      if (cached != null && DomainIntent.refused(cached)) {
        return new LockdRefusal(LockdError.OPERATION_DENIED, "node " + node + " refuses the disk of "
            + DomainIntent.key(cached) + ": " + cached.getStatus().conditions.stream()
                .filter(c -> "Running".equals(c.getType())).map(c -> c.getMessage()).findFirst().orElse("refused"));
      }
      pause();
    }
    String why = view.leases().stream().filter(l -> AttachService.names(l, disk) && l.getStatus() != null)
        .flatMap(l -> l.getStatus().waiting.stream()).filter(w -> uid.equals(w.uid)).map(w -> w.reason).findFirst()
        .orElse("no DiskLease lists it as holder or waiter; is the lockwarden operator running?");
    return new LockdRefusal(LockdError.INTERNAL_ERROR, "no grant of " + LibvirtResources.describe(disk) + " to "
        + DomainIntent.key(domain) + " on node " + node + " within " + timeout.toSeconds() + " s: " + why);
  }

  /** Until no DiskLease of the disk lists the domain on this node: null then, else why not. */
  LockdRefusal released(SupervisedDomain domain, DomainDisk disk) {
    String uid = domain.getMetadata().getUid();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean listed = view.leases().stream().filter(l -> AttachService.names(l, disk) && l.getStatus() != null)
          .anyMatch(l -> l.getStatus().holders.stream().anyMatch(h -> uid.equals(h.uid) && node.equals(h.node)));
      if (!listed) {
        return null;
      }
      pause();
    }
    return new LockdRefusal(LockdError.INTERNAL_ERROR, "the release of " + LibvirtResources.describe(disk) + " by "
        + DomainIntent.key(domain) + " on node " + node + " is not recorded within " + timeout.toSeconds()
        + " s: the disk has left the spec, and its grant goes once the supervisor has let go of it");
  }

  /** Whether the supervisor reports holding any lock. */
  boolean holdsLocks(RunDir runDir) {
    try {
      SupervisorState state = SupervisorState.read(runDir.path());
      return state.locks != null && !state.locks.isEmpty() && !"Exited".equals(state.phase);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static boolean locked(RunDir runDir, String lease, Long epoch) {
    try {
      SupervisorState state = SupervisorState.read(runDir.path());
      if (state.locks == null || !"Running".equals(state.phase)) {
        return false;
      }
      List<SupervisorArgs.Lock> locks = state.locks.stream().map(SupervisorArgs.Lock::parse).toList();
      return locks.stream().anyMatch(l -> l.lease().equals(lease) && epoch != null && l.epoch() == epoch);
    } catch (IOException | RuntimeException e) {
      return false; // not written yet
    }
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
