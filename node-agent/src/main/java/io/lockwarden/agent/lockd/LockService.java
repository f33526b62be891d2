package io.lockwarden.agent.lockd;

/**
 * The daemon side of libvirt's lock-manager API as one node agent serves it. Each method blocks until its answer is
 * durable; one call per connection is in flight at a time, calls from different connections run concurrently.
 *
 * <p>A {@link LockdRefusal} reaches the client with its code and domain; a RuntimeException reaches it as
 * {@link LockdError#INTERNAL_ERROR} with its message and leaves the server and the connection running.
 */
public interface LockService {
  /** REGISTER. lifetime: the peer's pid is the owner's pid (the connection libvirt leaks into QEMU). */
  void register(LockOwner owner, boolean lifetime) throws LockdRefusal;

  /**
   * ACQUIRE_RESOURCE. {@code lockspace} is "" for libvirt's direct mode (then {@code resource} is the disk path);
   * virtlockd refuses a held resource with {@link LockdError#RESOURCE_BUSY}.
   */
  void acquire(LockOwner owner, String lockspace, String resource, boolean shared, boolean autocreate)
      throws LockdRefusal;

  /** RELEASE_RESOURCE. Must be durable cluster-wide before it returns: a migration target acquires right after. */
  void release(LockOwner owner, String lockspace, String resource) throws LockdRefusal;

  /**
   * CREATE_LOCKSPACE, sent at libvirtd's start without REGISTER. libvirt's plugin takes a refusal with
   * {@link LockdError#OPERATION_INVALID} as "it already exists" and carries on; any other refusal fails its start.
   */
  void createLockspace(String path) throws LockdRefusal;

  /**
   * The lifetime connection of this owner closed (QEMU exited or is exiting). Called once per lifetime connection,
   * from that connection's thread; not called when the server itself closes (the QEMU is still running then).
   */
  void lifetimeEnded(LockOwner owner);
}
