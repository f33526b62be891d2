package io.lockwarden.e2e.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.ControllerManager;
import io.lockwarden.e2e.harness.ForeignLock;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.e2e.harness.Signals;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Issue #17: with a kube-controller-manager, as every real cluster has, `kubectl delete namespace` with running domains
 * in it ends as a user expects: the namespace controller deletes the SupervisedDomains, the agents stop them (a
 * stubborn writer that ignores SIGTERM too), the operator releases their grants and lets the finalizers go, and the
 * namespace is gone with every DiskLease free and no lock left on any disk. Without a controller manager the namespace
 * stays Terminating for ever and its domains keep running.
 */
@ExtendWith(ControlPlaneExtension.class)
class NamespaceDeletionIT {
  /** A deadline, not a measure: the stubborn writer alone takes its 5 s grace period to be killed. */
  private static final Duration GONE = Duration.ofSeconds(120);
  private static LocalSystem system;
  private static ControllerManager controllers;

  @BeforeAll
  static void start(ControlPlane controlPlane) {
    system = LocalSystem.start(controlPlane, "nsdelete", Map.of(), Map.of(), "a", "b");
  }

  @AfterAll
  static void stop() {
    if (controllers != null) {
      controllers.close();
    }
    if (system != null) {
      system.close();
    }
  }

  @Test
  void deletingANamespaceStopsItsDomainsAndFreesEveryLeaseTheyHeld(ControlPlane controlPlane) {
    List<String> files = List.of("alpha.img", "beta.img", "gamma.img", "shared.img");
    system.create(system.workload("alpha", "a", system.exclusive("alpha.img"), system.shared("shared.img")));
    system.create(system.stubborn("beta", "b", system.exclusive("beta.img"), system.shared("shared.img")));
    system.create(system.workload("gamma", "a", system.exclusive("gamma.img")));
    List<Long> pids = new ArrayList<>();
    for (String name : List.of("alpha", "beta", "gamma")) {
      pids.add(system.awaitRunning(name).getStatus().pid);
    }
    for (String file : files) {
      assertThat(system.holders(file)).as("holders of " + file + " before the delete").isNotEmpty();
      assertThat(ForeignLock.canLock(system.disk(file))).as(file + " is locked while its domains run").isFalse();
    }

    controllers = ControllerManager.start(controlPlane, "nsdelete-controller-manager",
        List.of("namespace-controller", "garbage-collector-controller"));
    system.admin.namespaces().withName(system.apps).delete();

    Await.until("namespace " + system.apps + " is gone (controller manager log: " + controllers.log + ")", GONE,
        () -> system.admin.namespaces().withName(system.apps).get() == null);
    assertThat(system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems()).isEmpty();
    for (String file : files) {
      DiskLease lease = system.leaseFor(file);
      assertThat(lease == null || lease.getStatus() == null || lease.getStatus().holders.isEmpty())
          .as("the lease of " + file + " is free (or deleted, as an automatic lease is once unused): " + lease)
          .isTrue();
      assertThat(ForeignLock.canLock(system.disk(file))).as("no lock is left on " + file).isTrue();
    }
    for (long pid : pids) {
      assertThat(Signals.alive(pid)).as("domain process " + pid + " is gone").isFalse();
    }
  }
}
