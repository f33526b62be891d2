package io.lockwarden.operator.config;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;

/**
 * Informer stores that keep no {@code managedFields}. The operator caches every DiskLease three times (the lease
 * controller's primary, the domain controller's secondary, the split-brain audit's own watch) and every domain twice,
 * and the server-side-apply bookkeeping in managedFields was most of it: at 10,000 DiskLeases and 5,000 domains it
 * filled a 512 MiB heap (benchmarks.md, item f). Nothing here reads managedFields, and a PUT without them leaves the
 * server's copy as it is.
 */
public final class LeanCache {
  private LeanCache() {}

  public static <R extends HasMetadata> ItemStore<R> store() {
    return new TransformingItemStore<>(LeanCache::withoutManagedFields);
  }

  static <R extends HasMetadata> R withoutManagedFields(R resource) {
    resource.getMetadata().setManagedFields(null);
    return resource;
  }
}
