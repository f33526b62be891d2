package io.lockwarden.agent.attach;

import io.lockwarden.agent.cluster.ClusterView;
import io.lockwarden.agent.domain.DomainLifecycle;
import io.lockwarden.agent.lockd.LockOwner;
import io.lockwarden.agent.lockd.LockService;
import io.lockwarden.agent.lockd.LockdError;
import io.lockwarden.agent.lockd.LockdRefusal;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.agent.supervisor.ProcStat;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.AttachSpec;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.Placement;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libvirt's lock manager, served from the cluster: each lockd call becomes a change to the SupervisedDomain that
 * stands for the libvirt domain, and is answered once the cluster shows its effect (the seed's New with ATTACH,
 * AcquireResource and ReleaseResource). One ladder of early returns per call, each refusal saying who holds what.
 *
 * <ul>
 *   <li>REGISTER: finds the domain by uuid, or creates it (unless the agent accepts declared domains only);
 *   <li>ACQUIRE: never queues, as virtlockd never does: a disk held elsewhere is RESOURCE_BUSY at once; otherwise the
 *       disk joins the spec, the domain is placed on this node, and the reply waits for the grant to this node and the
 *       local lock of an attach-mode supervisor (see {@link AttachWait});
 *   <li>RELEASE: the disk leaves the spec; the reply waits until its DiskLease no longer lists the domain, so a
 *       migration's target, which acquires after the source released, always finds the disk free;
 *   <li>end of the lifetime connection: QEMU is gone or going; if it still holds locks, the supervisor kills it.
 * </ul>
 */
public final class AttachService implements LockService {
  private static final Logger log = LoggerFactory.getLogger(AttachService.class);

  private final String node;
  private final AttachedDomains domains;
  private final Consumer<SupervisedDomain> onAttached;
  private final ClusterView view;
  private final Path domainsDir;
  private final NodePolicy policy;
  private final boolean declaredOnly;
  private final AttachWait waits;
  private final Duration timeout;
  /** How long the end of a lifetime connection waits for its process to be gone before it lets the sweep finish. */
  private static final Duration LIFETIME_END_WAIT = Duration.ofSeconds(10);

  /**
   * {@code onAttached} hears of each process recorded for a domain: an incoming migration's QEMU registers on this
   * node before its domain names the node (its ACQUIRE writes {@code spec.attach.node}), so the agent's watches do
   * not show it yet, and its supervisor should be ready by then.
   */
  public AttachService(String node, AttachedDomains domains, ClusterView view, Path domainsDir, NodePolicy policy,
      boolean declaredOnly, Duration timeout, Consumer<SupervisedDomain> onAttached) {
    this.node = node;
    this.onAttached = onAttached;
    this.domains = domains;
    this.view = view;
    this.domainsDir = domainsDir;
    this.policy = policy;
    this.declaredOnly = declaredOnly;
    this.waits = new AttachWait(node, view, domains, domainsDir, timeout);
    this.timeout = timeout;
  }

  @Override
  public void register(LockOwner owner, boolean lifetime) throws LockdRefusal {
    SupervisedDomain domain = domains.find(owner.uuid());
    if (domain == null && declaredOnly) {
      throw new LockdRefusal(LockdError.OPERATION_DENIED, "no SupervisedDomain with uuid " + owner.uuid()
          + " in namespace " + domains.namespace() + ", and node " + node + " accepts declared libvirt domains only: "
          + "declare one with spec.attach and this uuid");
    }
    if (domain == null) {
      domain = domains.create(owner);
      log.info("event=attached-domain-created domain={} node={} uuid={} libvirtName={}", DomainIntent.key(domain),
          node, owner.uuid(), owner.name());
    }
    if (domain.getSpec().attach == null) {
      throw new LockdRefusal(LockdError.OPERATION_DENIED, "uuid " + owner.uuid() + " belongs to SupervisedDomain "
          + DomainIntent.key(domain) + ", which lockwarden starts itself (spec.command): a libvirt domain cannot be it");
    }
    Placement placement = domain.getSpec().placement;
    if (placement != null && !placement.allows(node)) {
      throw new LockdRefusal(LockdError.OPERATION_DENIED, "SupervisedDomain " + DomainIntent.key(domain)
          + " may not run on node " + node + " (spec.placement)");
    }
    if (lifetime) {
      recordProcess(domain, owner);
    }
    log.info("event=lockd-registered domain={} node={} uuid={} pid={} lifetime={}", DomainIntent.key(domain), node,
        owner.uuid(), owner.pid(), lifetime);
  }

  @Override
  public void acquire(LockOwner owner, String lockspace, String resource, boolean shared, boolean autocreate)
      throws LockdRefusal {
    SupervisedDomain domain = registered(owner);
    DomainDisk disk = LibvirtResources.diskFor(lockspace, resource, shared, view.leases());
    String path = disk.path != null ? disk.path : view.leases().stream()
        .filter(l -> l.getMetadata().getName().equals(disk.leaseName) && l.getSpec() != null)
        .map(l -> l.getSpec().path).findFirst().orElse(null);
    if (path != null) {
      try {
        policy.canonicalDisk(path); // refused at once, not after the wait: the supervisor would never lock it
      } catch (NodePolicy.Refused e) {
        throw new LockdRefusal(LockdError.OPERATION_DENIED, e.getMessage());
      }
    }
    String uid = domain.getMetadata().getUid();
    String process = recordProcess(domain, owner);
    boolean[] added = new boolean[1];
    long until = System.nanoTime() + timeout.toNanos();
    SupervisedDomain updated;
    while (true) {
      LockdRefusal elsewhere = heldElsewhere(domain, disk, uid);
      if (elsewhere == null) {
        String[] claimedBy = new String[1];
        updated = domains.update(domain, latest -> {
          AttachSpec attach = latest.getSpec().attach == null ? new AttachSpec() : latest.getSpec().attach;
          List<DomainDisk> disks = latest.getSpec().disks == null ? new ArrayList<>()
              : new ArrayList<>(latest.getSpec().disks);
          if (attach.node != null && !node.equals(attach.node) && !disks.isEmpty() && !fencedOn(latest, attach.node)) {
            // Another node's libvirt has asked for disks of this domain and not released them: never take the domain
            // from under it (two starts of one uuid on two nodes). A node the operator fenced the domain on has lost
            // its grants and stopped writing (TIME-2): the domain may start here.
            claimedBy[0] = attach.node;
            return null;
          }
          claimedBy[0] = null;
          if (node.equals(attach.node)
              && disks.stream().anyMatch(d -> LibvirtResources.sameDisk(d, disk) && d.mode != disk.mode)) {
            // Already in use by this domain in another mode (the same image plugged twice): refused, as virtlockd
            // refuses a second acquire, so that the first use never loses its grant to the second's failure.
            claimedBy[0] = "";
            return null;
          }
          boolean present = disks.stream().anyMatch(d -> LibvirtResources.sameDisk(d, disk) && d.mode == disk.mode);
          added[0] = disks.stream().noneMatch(d -> LibvirtResources.sameDisk(d, disk));
          if (present && node.equals(attach.node) && process.equals(attach.process)) {
            return null;
          }
          disks.removeIf(d -> LibvirtResources.sameDisk(d, disk));
          disks.add(disk);
          latest.getSpec().disks = disks;
          attach.node = node;
          attach.process = process; // written even when nothing else changes: see AttachSpec.process and sweep()
          latest.getSpec().attach = attach;
          return latest;
        });
        if (claimedBy[0] == null) {
          break;
        }
        if (claimedBy[0].isEmpty()) {
          throw new LockdRefusal(LockdError.RESOURCE_BUSY, LibvirtResources.describe(disk) + " is already in use by "
              + DomainIntent.key(updated) + " in another mode");
        }
        elsewhere = new LockdRefusal(LockdError.RESOURCE_BUSY, "SupervisedDomain " + DomainIntent.key(updated)
            + " has disks asked for on node " + claimedBy[0] + " (spec.attach.node); it moves to " + node
            + " only once they are released there");
      }
      // This same domain held or asked for on another node: a migration's target that failed and is being ended, or a
      // source whose release is on its way. The operator grants here only once it is released there, so waiting is
      // safe, and libvirt's re-acquire on the source after a failed migration does not meet a refusal that a second
      // later would not give (the VM would stay paused).
      if (System.nanoTime() > until) {
        throw elsewhere;
      }
      pause(50);
      domain = registered(owner);
    }
    log.info("event=lockd-acquire domain={} node={} resource={} mode={} generation={}", DomainIntent.key(updated),
        node, resource, disk.mode, updated.getMetadata().getGeneration());
    LockdRefusal refusal = waits.grantedAndLocked(updated, disk);
    if (refusal != null) {
      if (added[0]) {
        withdraw(updated, disk); // only what this call added: a disk held before it stays held
      }
      log.warn("event=lockd-acquire-refused domain={} node={} resource={} error=\"{}\"", DomainIntent.key(updated),
          node, resource, refusal.getMessage());
      throw refusal;
    }
  }

  @Override
  public void release(LockOwner owner, String lockspace, String resource) throws LockdRefusal {
    SupervisedDomain domain = domains.find(owner.uuid());
    if (domain == null || domain.getSpec().attach == null) {
      return; // releasing what is not held is harmless, as with virtlockd's callers
    }
    if (!node.equals(domain.getSpec().attach.node)) {
      log.info("event=lockd-release-elsewhere domain={} node={} resource={} attachedNode={} note=nothing of it is "
          + "held here", DomainIntent.key(domain), node, resource, domain.getSpec().attach.node);
      return;
    }
    DomainDisk disk = LibvirtResources.diskFor(lockspace, resource, false, view.leases());
    withdraw(domain, disk);
    LockdRefusal refusal = waits.released(domain, disk);
    if (refusal != null) {
      throw refusal;
    }
    log.info("event=lockd-released domain={} node={} resource={}", DomainIntent.key(domain), node, resource);
  }

  @Override
  public void createLockspace(String path) {
    // The lockspace is the cluster's: nothing to create on this host. Indirect resources map to DiskLeases by hash.
    log.info("event=lockd-lockspace node={} path={} note=nothing to create: DiskLeases are the lockspace", node, path);
  }

  @Override
  public void lifetimeEnded(LockOwner owner) {
    try {
      SupervisedDomain domain = domains.find(owner.uuid());
      if (domain == null) {
        return;
      }
      RunDir runDir = runDir(domain);
      String expected = owner.pid() + ":" + ProcStat.startTime(owner.pid());
      boolean stillRuns = Objects.equals(runDir.attached(), expected);
      if (stillRuns && waits.holdsLocks(runDir)) {
        // virtlockd's rule: a process whose lifetime connection closed while it holds locks is killed.
        log.warn("event=lockd-owner-killed domain={} node={} pid={} reason=lifetime-connection-closed-with-locks",
            DomainIntent.key(domain), node, owner.pid());
        runDir.requestKill();
      }
      // As virtlockd releases when the connection closes: once the process is gone (its supervisor releases its
      // locks as it ends), its disks leave the spec now rather than at the next sweep, so that a migration's source,
      // acquiring again after its target died, finds the disks free.
      long until = System.nanoTime() + LIFETIME_END_WAIT.toNanos();
      while (stillRuns && Objects.equals(runDir.attached(), expected) && DomainLifecycle.attachedProcess(runDir) != null
          && System.nanoTime() < until) {
        Thread.sleep(10);
      }
      SupervisedDomain now = domains.find(owner.uuid());
      if (now != null) {
        dropDisksOfEndedProcess(now);
      }
      log.info("event=lockd-lifetime-ended domain={} node={} pid={}", DomainIntent.key(domain), node, owner.pid());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException | RuntimeException e) {
      log.warn("event=lockd-lifetime-end-failed uuid={} node={} pid={} error=\"{}\" note=the supervisor still "
          + "watches the process", owner.uuid(), node, owner.pid(), e.getMessage());
    }
  }

  /**
   * Disks of attached domains on this node whose process is gone leave the spec, so their grants go: the end of a QEMU
   * that this agent learns of from its pid (after an agent restart, say) rather than from the lifetime connection.
   */
  public void sweep() {
    if (!view.synced()) {
      return;
    }
    for (SupervisedDomain domain : view.domains()) {
      if (domains.namespace().equals(domain.getMetadata().getNamespace())) {
        dropDisksOfEndedProcess(domain);
      }
    }
  }

  /** The disks of this node's attached domain whose process has ended leave its spec; true if it wrote. */
  private boolean dropDisksOfEndedProcess(SupervisedDomain domain) {
    if (domain.getSpec() == null || domain.getSpec().attach == null || !node.equals(domain.getSpec().attach.node)
        || domain.getSpec().disks == null || domain.getSpec().disks.isEmpty()
        || DomainLifecycle.attachedProcess(runDir(domain)) != null) {
      return false;
    }
    String gone = domain.getSpec().attach.process;
    try {
      // Only the process found gone: an acquire for a later one writes spec.attach.process, so this write, made
      // with the resourceVersion read here, fails over it and the later process's disks stay.
      boolean[] wrote = new boolean[1];
      domains.update(domain, latest -> {
        wrote[0] = false;
        if (latest.getSpec().attach == null || !node.equals(latest.getSpec().attach.node)
            || !Objects.equals(gone, latest.getSpec().attach.process)
            || DomainLifecycle.attachedProcess(runDir(latest)) != null) {
          return null;
        }
        latest.getSpec().disks = null;
        wrote[0] = true;
        return latest;
      });
      if (wrote[0]) {
        log.info("event=attached-process-gone domain={} node={} process={} note=its disks leave the spec and their "
            + "grants go", DomainIntent.key(domain), node, gone);
      }
      return wrote[0];
    } catch (RuntimeException e) {
      log.warn("event=attached-sweep-failed domain={} node={} error=\"{}\"", DomainIntent.key(domain), node,
          e.getMessage());
      return false;
    }
  }

  /**
   * Another domain holding the disk in a conflicting mode: RESOURCE_BUSY at once (virtlockd never queues). This same
   * domain holding anything on another node: the refusal to give if that does not change before the deadline; else
   * null. From what the API server says now, not the cache: a source that has just released must not look like a
   * holder.
   */
  private LockdRefusal heldElsewhere(SupervisedDomain domain, DomainDisk disk, String uid) throws LockdRefusal {
    List<DiskLease> leases = view.freshLeases().items();
    for (DiskLease lease : leases) {
      if (!names(lease, disk) || lease.getStatus() == null) {
        continue;
      }
      for (LeaseHolder holder : lease.getStatus().holders) {
        boolean bothShared = holder.mode == AccessMode.Shared && disk.mode == AccessMode.Shared;
        if (!uid.equals(holder.uid) && !bothShared) {
          throw busy(disk, lease, holder);
        }
      }
    }
    for (DiskLease held : leases) {
      for (LeaseHolder holder : held.getStatus() == null ? List.<LeaseHolder>of() : held.getStatus().holders) {
        if (uid.equals(holder.uid) && !node.equals(holder.node)) {
          return new LockdRefusal(LockdError.RESOURCE_BUSY, "SupervisedDomain " + DomainIntent.key(domain)
              + " still holds DiskLease " + held.getMetadata().getName() + " on node " + holder.node + " (epoch "
              + holder.epoch + "); it moves to " + node + " only once it holds nothing there");
        }
      }
    }
    return null;
  }

  /** The operator declared the domain's node dead and revoked its grants there (phase Fenced on that node). */
  private static boolean fencedOn(SupervisedDomain domain, String attachedNode) {
    return domain.getStatus() != null && domain.getStatus().phase == DomainPhase.Fenced
        && attachedNode.equals(domain.getStatus().node);
  }

  private static void pause(long millis) throws LockdRefusal {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LockdRefusal(LockdError.INTERNAL_ERROR, "interrupted");
    }
  }

  /**
   * Removes the disk from the spec, only while the domain is this node's (spec.attach.node): a release or a failed
   * acquire on one node never takes a disk from under another node's QEMU.
   */
  private void withdraw(SupervisedDomain domain, DomainDisk disk) {
    domains.update(domain, latest -> {
      if (latest.getSpec().attach == null || !node.equals(latest.getSpec().attach.node)
          || latest.getSpec().disks == null || latest.getSpec().disks.stream()
              .noneMatch(d -> LibvirtResources.sameDisk(d, disk))) {
        return null;
      }
      List<DomainDisk> disks = new ArrayList<>(latest.getSpec().disks);
      disks.removeIf(d -> LibvirtResources.sameDisk(d, disk));
      latest.getSpec().disks = disks.isEmpty() ? null : disks;
      return latest;
    });
  }

  private SupervisedDomain registered(LockOwner owner) throws LockdRefusal {
    SupervisedDomain domain = domains.find(owner.uuid());
    if (domain == null || domain.getSpec().attach == null) {
      throw new LockdRefusal(LockdError.OPERATION_INVALID, "libvirt domain " + owner.name() + " (" + owner.uuid()
          + ") is not registered with node " + node);
    }
    return domain;
  }

  /** Records the process libvirt named, with its start time, for the attach-mode supervisor to watch. */
  private String recordProcess(SupervisedDomain domain, LockOwner owner) throws LockdRefusal {
    String startTime = ProcStat.startTime(owner.pid());
    if (startTime == null) {
      throw new LockdRefusal(LockdError.INTERNAL_ERROR, "process " + owner.pid() + " of libvirt domain "
          + owner.name() + " does not exist on node " + node);
    }
    try {
      runDir(domain).writeAttached(DomainIntent.key(domain), owner.pid(), startTime);
      onAttached.accept(domain); // the agent starts its supervisor, though its watches may not show it yet
    } catch (IOException e) {
      throw new LockdRefusal(LockdError.INTERNAL_ERROR, "cannot record process " + owner.pid() + ": " + e.getMessage());
    }
    return owner.pid() + ":" + startTime;
  }

  private RunDir runDir(SupervisedDomain domain) {
    return new RunDir(domainsDir.resolve(domain.getMetadata().getUid()));
  }

  static boolean names(DiskLease lease, DomainDisk disk) {
    return disk.leaseName != null ? disk.leaseName.equals(lease.getMetadata().getName())
        : lease.getSpec() != null && disk.path.equals(lease.getSpec().path);
  }

  static LockdRefusal busy(DomainDisk disk, DiskLease lease, LeaseHolder holder) {
    return new LockdRefusal(LockdError.RESOURCE_BUSY, LibvirtResources.describe(disk) + " (DiskLease "
        + lease.getMetadata().getName() + ") is held by SupervisedDomain " + holder.domain + " on node " + holder.node
        + " (" + holder.mode + ", epoch " + holder.epoch + ")");
  }
}
