/**
 * The {@code lockwarden.io/v1alpha1} API: {@link io.lockwarden.api.v1alpha1.DiskLease} (one lockable disk and its
 * arbitration record) and {@link io.lockwarden.api.v1alpha1.SupervisedDomain} (one supervised process and its disks), and
 * {@link io.lockwarden.api.v1alpha1.Quorum} (what the operator reports of its quorum).
 *
 * <p>The CRDs are generated from these classes at build time; every rule the API server can check is declared here
 * as schema or CEL, so bad input is refused at admission with a message, before any controller sees it.
 * Fields are public: these are plain data carriers for Jackson, with no behaviour to hide.
 */
package io.lockwarden.api.v1alpha1;
