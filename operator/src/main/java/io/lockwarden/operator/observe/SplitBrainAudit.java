package io.lockwarden.operator.observe;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.operator.config.LeanCache;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An independent check of the arbitration invariant, on its own watch, sharing no code path with the decisions: every
 * DiskLease version it sees must show compatible holders, and a lease's epoch must never fall. Any violation is
 * counted in lockwarden_split_brain_detected_total (alerted on as critical) and logged.
 */
public final class SplitBrainAudit implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SplitBrainAudit.class);

  private final KubernetesClient client;
  private final OperatorMetrics metrics;
  private final Map<String, Long> highestEpoch = new ConcurrentHashMap<>();
  private SharedIndexInformer<DiskLease> informer;

  public SplitBrainAudit(KubernetesClient client, OperatorMetrics metrics) {
    this.client = client;
    this.metrics = metrics;
  }

  public void start() {
    informer = client.resources(DiskLease.class).runnableInformer(0).itemStore(LeanCache.<DiskLease>store());
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(DiskLease lease) {
        check(lease);
      }

      @Override
      public void onUpdate(DiskLease old, DiskLease lease) {
        check(lease);
      }

      @Override
      public void onDelete(DiskLease lease, boolean unknownFinalState) {
        highestEpoch.remove(lease.getMetadata().getUid());
      }
    });
    informer.run(); // as inform() did: returns once the first list is in
  }

  /** The violation found in this version, or null; public for the tests' own checker. */
  public static String violation(DiskLease lease, Long previousHighestEpoch) {
    if (lease.getStatus() == null) {
      return null;
    }
    List<LeaseHolder> holders = lease.getStatus().holders;
    for (int i = 0; i < holders.size(); i++) {
      for (int j = i + 1; j < holders.size(); j++) {
        AccessMode a = holders.get(i).mode == null ? AccessMode.Exclusive : holders.get(i).mode;
        if (!a.compatibleWith(holders.get(j).mode)) {
          return "incompatible holders " + holders.get(i).domain + " (" + holders.get(i).mode + ") and "
              + holders.get(j).domain + " (" + holders.get(j).mode + ")";
        }
      }
    }
    Long epoch = lease.getStatus().epoch;
    if (previousHighestEpoch != null && epoch != null && epoch < previousHighestEpoch) {
      return "epoch fell from " + previousHighestEpoch + " to " + epoch;
    }
    return null;
  }

  private void check(DiskLease lease) {
    String uid = lease.getMetadata().getUid();
    String violation = violation(lease, highestEpoch.get(uid));
    if (violation != null) {
      metrics.splitBrainDetected();
      log.error("event=split-brain lease={} resourceVersion={} violation=\"{}\"", lease.getMetadata().getName(),
          lease.getMetadata().getResourceVersion(), violation);
    }
    if (lease.getStatus() != null && lease.getStatus().epoch != null) {
      highestEpoch.merge(uid, lease.getStatus().epoch, Math::max);
    }
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.close();
    }
  }
}
