package io.lockwarden.operator.grant;

import io.lockwarden.api.v1alpha1.AccessMode;

/**
 * One domain's wish to hold one DiskLease now, on one node.
 *
 * @param domain namespace/name
 * @param uid the domain's metadata.uid: a re-created domain of the same name is another requester
 * @param mayWait false for a request that must be granted at once or not at all: it never joins the queue
 */
public record LeaseRequest(String domain, String uid, String namespace, String node, AccessMode mode, boolean mayWait) {
  public LeaseRequest(String domain, String uid, String namespace, String node, AccessMode mode) {
    this(domain, uid, namespace, node, mode, true);
  }
}
