package io.lockwarden.e2e.chaos;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.lockwarden.api.v1alpha1.DiskLease;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Every DiskLease version a run saw, appended to a JSON-lines file as it arrives, so the split-brain check has the
 * grants even when the run dies half-way. A watch can skip versions after a re-list, so a grant that lived only in a
 * skipped version would later look ungranted: the history is what was observed, not all that happened.
 */
public final class LeaseHistory implements AutoCloseable {
  private final Path file;
  private final BufferedWriter out;
  private SharedIndexInformer<DiskLease> informer;
  private long count;
  private boolean closed;
  /** The first write that failed: the informer thread cannot throw to anyone, so close() does. */
  private IOException failure;

  public LeaseHistory(Path file) throws IOException {
    this.file = file;
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
  }

  /** Starts recording every DiskLease of the cluster into {@code file}; close() stops. */
  public static LeaseHistory record(KubernetesClient client, Path file) throws IOException {
    LeaseHistory history = new LeaseHistory(file);
    SharedIndexInformer<DiskLease> informer = client.resources(DiskLease.class).inform(history.handler());
    synchronized (history) {
      history.informer = informer;
    }
    return history;
  }

  public static List<LeaseVersion> load(Path file) throws IOException {
    return LeaseVersion.readAll(file);
  }

  /** Adds and updates; a re-list repeats versions already seen (same resourceVersion), those are skipped. */
  public ResourceEventHandler<DiskLease> handler() {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(DiskLease lease) {
        append(LeaseVersion.of(lease, System.currentTimeMillis()));
      }

      @Override
      public void onUpdate(DiskLease old, DiskLease lease) {
        if (!lease.getMetadata().getResourceVersion().equals(old.getMetadata().getResourceVersion())) {
          append(LeaseVersion.of(lease, System.currentTimeMillis()));
        }
      }

      @Override
      public void onDelete(DiskLease lease, boolean deletedFinalStateUnknown) {
        // A deletion grants nothing; the last version with holders was recorded when it arrived.
      }
    };
  }

  /** One line, flushed at once, so a killed run leaves at most a torn last line. */
  public synchronized void append(LeaseVersion version) {
    if (closed || failure != null) {
      return;
    }
    try {
      out.write(version.toJson());
      out.write('\n');
      out.flush();
      count++;
    } catch (IOException e) {
      failure = e;
    }
  }

  public synchronized long count() {
    return count;
  }

  public Path file() {
    return file;
  }

  /** Stops the informer, if any, and fails if any version could not be written. */
  @Override
  public void close() throws IOException {
    SharedIndexInformer<DiskLease> running;
    synchronized (this) {
      running = informer;
    }
    if (running != null) {
      running.close();
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      out.close();
      if (failure != null) {
        throw new IOException("lease history " + file + " is incomplete", failure);
      }
    }
  }
}
