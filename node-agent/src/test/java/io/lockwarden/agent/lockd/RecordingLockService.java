package io.lockwarden.agent.lockd;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A LockService for protocol tests: grants a resource to its first owner and refuses any other owner with
 * RESOURCE_BUSY (as virtlockd), releases harmlessly, and records every call. A resource named {@link #BLOCKING} waits
 * in acquire until {@link #unblock()}; one named {@link #EXPLODING} throws a RuntimeException.
 */
final class RecordingLockService implements LockService {
  static final String BLOCKING = "/blocking";
  static final String EXPLODING = "/exploding";

  private final List<String> calls = new ArrayList<>();
  private final Map<String, LockOwner> holders = new HashMap<>();
  final BlockingQueue<LockOwner> lifetimeEnded = new LinkedBlockingQueue<>();
  final CountDownLatch blockedEntered = new CountDownLatch(1);
  private final CountDownLatch blockedGate = new CountDownLatch(1);

  synchronized List<String> calls() {
    return List.copyOf(calls);
  }

  private synchronized void record(String call) {
    calls.add(call);
  }

  void unblock() {
    blockedGate.countDown();
  }

  @Override
  public void register(LockOwner owner, boolean lifetime) {
    record("register " + owner.name() + " pid=" + owner.pid() + " lifetime=" + lifetime);
  }

  @Override
  public void acquire(LockOwner owner, String lockspace, String resource, boolean shared, boolean autocreate)
      throws LockdRefusal {
    record("acquire " + owner.name() + " " + lockspace + ":" + resource + " shared=" + shared + " autocreate="
        + autocreate);
    if (resource.equals(BLOCKING)) {
      blockedEntered.countDown();
      try {
        blockedGate.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (resource.equals(EXPLODING)) {
      throw new IllegalStateException("the cluster is on fire");
    }
    synchronized (this) {
      LockOwner holder = holders.putIfAbsent(lockspace + ":" + resource, owner);
      if (holder != null && !holder.equals(owner)) {
        throw new LockdRefusal(LockdError.RESOURCE_BUSY, "Lockspace resource '" + resource + "' is locked by "
            + holder.name() + " (pid " + holder.pid() + ")");
      }
    }
  }

  @Override
  public void release(LockOwner owner, String lockspace, String resource) {
    record("release " + owner.name() + " " + lockspace + ":" + resource);
    synchronized (this) {
      holders.remove(lockspace + ":" + resource, owner);
    }
  }

  @Override
  public void createLockspace(String path) {
    record("createLockspace " + path);
  }

  @Override
  public void lifetimeEnded(LockOwner owner) {
    record("lifetimeEnded " + owner.name() + " pid=" + owner.pid());
    lifetimeEnded.add(owner);
  }
}
