package io.lockwarden.operator.grant;

import io.lockwarden.api.v1alpha1.DiskLease;
import java.util.List;

/** The rules a DiskLease's spec sets on who may hold it. */
public final class LeasePolicy {
  private LeasePolicy() {}

  /** Only domains in spec.allowedNamespaces may hold the lease; an empty or missing list allows every namespace. */
  public static boolean allowsNamespace(DiskLease lease, String namespace) {
    List<String> allowed = lease.getSpec() == null ? null : lease.getSpec().allowedNamespaces;
    return allowed == null || allowed.isEmpty() || allowed.contains(namespace);
  }
}
