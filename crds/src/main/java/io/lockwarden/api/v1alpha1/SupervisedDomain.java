package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One supervised process, usually a VM: the seed's lock-manager context (virLockManagerNew), declared.
 * Its disks are the registered resources; its status shows the supervisor, the process and the grants.
 */
@Group(DiskLease.GROUP)
@Version(DiskLease.VERSION)
@Kind("SupervisedDomain")
@ShortNames("sd")
@Categories("lockwarden")
@ValidationRule(value = "has(self.spec)", message = "spec is required")
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase")
@AdditionalPrinterColumn(name = "Node", jsonPath = ".status.node")
@AdditionalPrinterColumn(name = "PID", jsonPath = ".status.pid", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Leases", jsonPath = ".status.leaseSummary")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class SupervisedDomain extends CustomResource<SupervisedDomainSpec, SupervisedDomainStatus> implements Namespaced {
}
