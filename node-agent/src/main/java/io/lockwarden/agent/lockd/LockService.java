package io.lockwarden.agent.lockd;

/**
 * The daemon side of libvirt's lock-manager API as one node agent serves it. Each method blocks until its answer is
 * durable; one call per connection is in flight at a time, calls from different connections run concurrently.
 */
public interface LockService {
  /** REGISTER. lifetime: the peer's pid is the owner's pid (the connection libvirt leaks into QEMU). */
  void register(LockOwner owner, boolean lifetime) throws LockdRefusal;

  void acquire(LockOwner owner, String lockspace, String resource, boolean shared, boolean autocreate)
      throws LockdRefusal;

  void release(LockOwner owner, String lockspace, String resource) throws LockdRefusal;

  void createLockspace(String path) throws LockdRefusal;

  /** The lifetime connection of this owner closed (QEMU exited or is exiting). */
  void lifetimeEnded(LockOwner owner);
}
