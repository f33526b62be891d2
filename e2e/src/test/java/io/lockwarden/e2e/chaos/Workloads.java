package io.lockwarden.e2e.chaos;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.FailoverPolicy;
import io.lockwarden.api.v1alpha1.MigrationStatus;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.TestObjects;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What users do while faults are in flight: create, delete, stop and start domains, migrate them, hot-plug and
 * unplug a disk. Every domain runs the demo workload on its own Exclusive root disk and on a hot-plug disk named on
 * its command line (written only while granted), reads a shared image (ReadOnly) and shares a data disk (Shared).
 */
final class Workloads {
  /** Each op is a user's request to the API server; one that fails (API server down) is simply not counted. */
  enum Op { CREATE, DELETE, STOP, START, MIGRATE, HOT_PLUG, UNPLUG }

  private final LocalSystem system;
  private final List<String> nodes;
  private final int maxDomains;
  private final Random random;
  private final PrintStream out;
  private final int[] counts = new int[Op.values().length];
  /**
   * Domain name to when a stop or a migration was last asked for it: a move that follows is the user's, not a
   * fail-over.
   */
  private final Map<String, Long> lastMoveAsked = new HashMap<>();
  private int created;

  Workloads(LocalSystem system, List<String> nodes, int maxDomains, Random random, PrintStream out) {
    this.system = system;
    this.nodes = nodes;
    this.maxDomains = maxDomains;
    this.random = random;
    this.out = out;
  }

  /** One random operation; true if the API server took it. */
  boolean doOne() {
    Op op = Op.values()[random.nextInt(Op.values().length)];
    List<SupervisedDomain> domains;
    try {
      domains = system.admin.resources(SupervisedDomain.class).inNamespace(system.apps).list().getItems().stream()
          .filter(d -> d.getMetadata().getDeletionTimestamp() == null).toList();
    } catch (RuntimeException e) {
      return false;
    }
    if (domains.size() < maxDomains / 2) {
      op = Op.CREATE; // keep the cluster busy
    }
    SupervisedDomain d = domains.isEmpty() ? null : domains.get(random.nextInt(domains.size()));
    String name = d == null ? null : d.getMetadata().getName();
    if (name != null && (op == Op.STOP || op == Op.MIGRATE)) {
      lastMoveAsked.put(name, System.currentTimeMillis()); // before the request: a lost reply may still have applied it
    }
    try {
      String what = switch (op) {
        case CREATE -> domains.size() >= maxDomains ? null : create();
        case DELETE -> d == null ? null : act(() -> system.delete(name), "delete " + name);
        case STOP -> d == null ? null : act(() -> system.patch(name, "{\"spec\":{\"running\":false}}"), "stop " + name);
        case START -> d == null ? null : act(() -> system.patch(name, "{\"spec\":{\"running\":true}}"), "start " + name);
        case MIGRATE -> migrate(d);
        case HOT_PLUG -> d == null ? null : plug(d, true);
        case UNPLUG -> d == null ? null : plug(d, false);
      };
      if (what != null) {
        counts[op.ordinal()]++;
        out.println("[chaos] op " + what);
      }
      return what != null;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** When a stop or a migration of {@code name} was last asked for, or 0. */
  long lastMoveAskedMillis(String name) {
    return lastMoveAsked.getOrDefault(name, 0L);
  }

  String summary() {
    StringBuilder s = new StringBuilder();
    for (Op op : Op.values()) {
      s.append(s.length() == 0 ? "" : ", ").append(op.name().toLowerCase()).append(' ').append(counts[op.ordinal()]);
    }
    return s.toString();
  }

  private String create() {
    String name = "vm-" + (++created);
    List<String> order = new ArrayList<>(nodes);
    Collections.shuffle(order, random);
    SupervisedDomain domain = TestObjects.domain(system.apps, name, null, system.exclusive(name + "-root.img"),
        TestObjects.disk(system.disk("chaos-image.img"), AccessMode.ReadOnly),
        TestObjects.disk(system.disk("chaos-shared.img"), AccessMode.Shared));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = order.stream().map(system::node).toList();
    domain.getSpec().placement.failover = FailoverPolicy.Automatic;
    domain.getSpec().command = List.of(LocalSystem.WORKLOAD.toString(), "--interval", "0.25",
        system.disk(name + "-root.img"), system.disk(name + "-plug.img"));
    domain.getSpec().stopGracePeriodSeconds = 5L;
    // The hot-plug disk has an automatic lease, deleted once unplugged and made again by the next hot-plug: the
    // checker's STALE_WRITER rule, per disk file, then checks that epochs go on across the two (ARB-2).
    system.create(domain);
    return "create " + name + " on " + domain.getSpec().placement.nodes;
  }

  private String migrate(SupervisedDomain d) {
    if (d == null || d.getStatus() == null || d.getStatus().phase != DomainPhase.Running || d.getStatus().node == null
        || (d.getStatus().migration != null && MigrationStatus.isActive(d.getStatus().migration))) {
      return null;
    }
    List<String> targets = nodes.stream().map(system::node).filter(n -> !n.equals(d.getStatus().node)).toList();
    String target = targets.get(random.nextInt(targets.size()));
    String mode = random.nextInt(4) == 0 ? "Cold" : "Live";
    String name = d.getMetadata().getName();
    system.patch(name, "{\"spec\":{\"migration\":{\"targetNode\":\"" + target + "\",\"mode\":\"" + mode + "\"}}}");
    return "migrate " + name + " to " + target + " " + mode;
  }

  private String plug(SupervisedDomain d, boolean plug) {
    String name = d.getMetadata().getName();
    String path = system.disk(name + "-plug.img");
    boolean plugged = d.getSpec().disks.stream().anyMatch(x -> path.equals(x.path));
    if (plugged == plug) {
      return null;
    }
    List<DomainDisk> disks = new ArrayList<>(d.getSpec().disks);
    if (plug) {
      disks.add(TestObjects.disk(path, AccessMode.Exclusive));
    } else {
      disks.removeIf(x -> path.equals(x.path));
    }
    d.getSpec().disks = disks;
    d.getMetadata().setManagedFields(null);
    system.admin.resource(d).update(); // optimistic: a concurrent change makes this one fail, as for a user
    return (plug ? "hot-plug " : "unplug ") + name;
  }

  private static String act(Runnable r, String what) {
    r.run();
    return what;
  }
}
