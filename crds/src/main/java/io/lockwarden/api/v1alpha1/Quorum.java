package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Categories;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The operator's quorum (docs/safety.md, TIME-4), for people and alerts: how many nodes of the member set acknowledge
 * its rounds, and whether fencing is suspended because a majority does not. One object, {@link #NAME}, in the
 * operator's namespace; the deciding operator creates it and writes its status. It has no spec: nothing here is
 * configured, only reported.
 */
@Group(DiskLease.GROUP)
@Version(DiskLease.VERSION)
@Kind("Quorum")
@Categories("lockwarden")
@AdditionalPrinterColumn(name = "Members", jsonPath = ".status.members", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Acknowledging", jsonPath = ".status.acknowledging",
    type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Disruption", jsonPath = ".status.conditions[?(@.type==\"Disruption\")].status")
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class Quorum extends CustomResource<Void, QuorumStatus> implements Namespaced {
  /** The one object the operator writes. */
  public static final String NAME = "lockwarden";
}
