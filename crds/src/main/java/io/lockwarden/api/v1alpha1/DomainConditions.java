package io.lockwarden.api.v1alpha1;

/** Condition types and reasons of a SupervisedDomain, shared by the operator, the agent and the tests. */
public final class DomainConditions {
  /** All the domain's leases are granted on its node. Written by the operator. */
  public static final String LEASES_GRANTED = "LeasesGranted";
  /** The domain's node was declared dead and its grants revoked. Written by the operator. */
  public static final String FENCED = "Fenced";
  /** The process runs. Written by the agent. */
  public static final String RUNNING = "Running";

  /** Someone outside lockwarden holds byte 0 of one of the domain's disks. Written by the agent. */
  public static final String LOCAL_LOCK_BUSY = "LocalLockBusy";

  /**
   * A disk removed from spec.disks is still open in a process of the domain: its lock and lease are kept until it is
   * closed or the domain exits. Written by the agent.
   */
  public static final String UNPLUG_PENDING = "UnplugPending";

  /**
   * An attached domain (spec.attach): its process, started by libvirt, is watched and fenced by a supervisor on its
   * node. Written by the agent.
   */
  public static final String ATTACHED = "Attached";

  /** Running=False for good: the process exited and its restart policy will not start it again. */
  public static final String REASON_COMPLETED = "Completed";
  /**
   * Running=False: the node's policy refuses to run the domain's program or to lock one of its disks. For the
   * generation it names, the domain is Failed and asks for no lease; a spec change asks again.
   */
  public static final String REASON_EXECUTABLE_NOT_ALLOWED = "ExecutableNotAllowed";
  public static final String REASON_PATH_NOT_ALLOWED = "PathNotAllowed";
  /**
   * Running=False: an attached domain (spec.attach) is on a node whose agent serves no lockd socket, and the process
   * libvirt named is not running there. Nothing on that node can start it again, so for this generation it asks for no
   * lease; libvirt acquiring for it (through a lockd-serving agent) writes spec.attach and asks again.
   */
  public static final String REASON_PROCESS_GONE = "ProcessGone";
  public static final String REASON_LEASE_NOT_FOUND = "LeaseNotFound";
  public static final String REASON_NAMESPACE_NOT_ALLOWED = "NamespaceNotAllowed";
  public static final String REASON_DUPLICATE_PATH = "DuplicatePath";
  public static final String REASON_NO_LIVE_NODE = "NoLiveNode";
  /**
   * The domain's node has never had a lockwarden agent: no Lease {@code lockwarden-node-<node>} was ever seen (a typo in
   * the placement, or the agent not installed there). Not a dead node: nothing was ever granted there to fence.
   */
  public static final String REASON_NODE_UNKNOWN = "NodeUnknown";
  public static final String REASON_NODE_DEAD = "NodeDead";
  public static final String REASON_FAILED_OVER = "FailedOver";

  private DomainConditions() {}
}
