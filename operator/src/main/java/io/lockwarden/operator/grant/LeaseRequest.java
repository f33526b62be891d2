package io.lockwarden.operator.grant;

import io.lockwarden.api.v1alpha1.AccessMode;

/**
 * One domain's wish to hold one DiskLease now, on one node.
 *
 * @param domain namespace/name
 * @param uid the domain's metadata.uid: a re-created domain of the same name is another requester
 */
public record LeaseRequest(String domain, String uid, String namespace, String node, AccessMode mode) {
}
