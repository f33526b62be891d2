package io.lockwarden.testing;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseSpec;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.Placement;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/** Valid API objects to start from; tests change one field at a time. Names are unique per JVM. */
public final class TestObjects {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private TestObjects() {}

  /** A name no other test in this run uses, since tests share one API server. */
  public static String uniqueName(String prefix) {
    return prefix + "-" + SEQUENCE.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 6);
  }

  public static String createNamespace(KubernetesClient client, String prefix) {
    Namespace ns = new NamespaceBuilder().withNewMetadata().withName(uniqueName(prefix)).endMetadata().build();
    return client.resource(ns).create().getMetadata().getName();
  }

  public static DiskLease diskLease(String name, String path) {
    DiskLease lease = new DiskLease();
    lease.setMetadata(new ObjectMetaBuilder().withName(name).build());
    lease.setSpec(new DiskLeaseSpec());
    lease.getSpec().path = path;
    return lease;
  }

  /** A domain on {@code node} running {@code /bin/sleep infinity} with the given disks. */
  public static SupervisedDomain domain(String namespace, String name, String node, DomainDisk... disks) {
    SupervisedDomain domain = new SupervisedDomain();
    domain.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
    SupervisedDomainSpec spec = new SupervisedDomainSpec();
    spec.uuid = UUID.randomUUID().toString();
    spec.placement = new Placement();
    spec.placement.nodeName = node;
    spec.command = new ArrayList<>(List.of("/bin/sleep", "infinity"));
    spec.disks = new ArrayList<>(List.of(disks));
    domain.setSpec(spec);
    return domain;
  }

  public static DomainDisk disk(String path, AccessMode mode) {
    return new DomainDisk(path, mode);
  }
}
