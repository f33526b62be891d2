package io.lockwarden.operator.it;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.operator.observe.SplitBrainAudit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The tests' own invariant checker: watches every DiskLease version the API server persists and checks each, and
 * checks that a disk's epochs grow across the DiskLeases of its path: a holder of one lease never has an epoch at or
 * below one an earlier lease of the same path reached (ARB-2).
 */
public final class LeaseHistory implements AutoCloseable {
  private final Watch watch;
  private final Map<String, Long> highestEpoch = new ConcurrentHashMap<>();
  /** path, then uid of each DiskLease seen with that path, then the highest epoch it reached. */
  private final Map<String, Map<String, Long>> highestEpochOfPath = new ConcurrentHashMap<>();
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final AtomicInteger versions = new AtomicInteger();

  private LeaseHistory(KubernetesClient client) {
    watch = client.resources(DiskLease.class).watch(new Watcher<>() {
      @Override
      public void eventReceived(Action action, DiskLease lease) {
        if (action == Action.DELETED) {
          return;
        }
        versions.incrementAndGet();
        String uid = lease.getMetadata().getUid();
        String violation = SplitBrainAudit.violation(lease, highestEpoch.get(uid));
        if (violation != null) {
          violations.add(lease.getMetadata().getName() + "@" + lease.getMetadata().getResourceVersion() + ": " + violation);
        }
        if (lease.getStatus() != null && lease.getStatus().epoch != null) {
          highestEpoch.merge(uid, lease.getStatus().epoch, Math::max);
          checkAcrossLeasesOfThePath(lease);
        }
      }

      @Override
      public void onClose(WatcherException cause) {
        violations.add("the history watch closed: " + cause.getMessage());
      }
    });
  }

  private synchronized void checkAcrossLeasesOfThePath(DiskLease lease) {
    String uid = lease.getMetadata().getUid();
    Map<String, Long> ofPath = highestEpochOfPath.computeIfAbsent(lease.getSpec().path, p -> new ConcurrentHashMap<>());
    ofPath.forEach((otherUid, otherHighest) -> lease.getStatus().holders.stream()
        .filter(h -> !otherUid.equals(uid) && h.epoch != null && h.epoch <= otherHighest)
        .forEach(h -> violations.add(lease.getMetadata().getName() + "@" + lease.getMetadata().getResourceVersion()
            + ": " + h.domain + " holds epoch " + h.epoch + ", but an earlier DiskLease of path "
            + lease.getSpec().path + " (uid " + otherUid + ") reached epoch " + otherHighest)));
    ofPath.merge(uid, lease.getStatus().epoch, Math::max);
  }

  public static LeaseHistory record(KubernetesClient client) {
    return new LeaseHistory(client);
  }

  public List<String> violations() {
    return List.copyOf(violations);
  }

  public int versionsSeen() {
    return versions.get();
  }

  @Override
  public void close() {
    watch.close();
  }
}
