package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import io.fabric8.kubernetes.model.annotation.Categories;

/**
 * One lockable disk. Cluster-scoped, because a disk on shared storage belongs to no namespace.
 * Its status is the arbitration record: only the operator writes it, with optimistic concurrency.
 */
@Group(DiskLease.GROUP)
@Version(DiskLease.VERSION)
@Kind("DiskLease")
@ShortNames("dl")
@Categories("lockwarden")
@ValidationRule(value = "has(self.spec)", message = "spec is required")
@AdditionalPrinterColumn(name = "Path", jsonPath = ".spec.path")
@AdditionalPrinterColumn(name = "State", jsonPath = ".status.state")
@AdditionalPrinterColumn(name = "Holders", jsonPath = ".status.holderCount", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Waiting", jsonPath = ".status.waitingCount", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Epoch", jsonPath = ".status.epoch", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class DiskLease extends CustomResource<DiskLeaseSpec, DiskLeaseStatus> {
  public static final String GROUP = "lockwarden.io";
  public static final String VERSION = "v1alpha1";
}
