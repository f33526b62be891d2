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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What users do while faults are in flight: create, delete, stop and start domains, migrate them, hot-plug and
 * unplug a disk. Every domain has its own Exclusive root disk, reads a shared image (ReadOnly) and shares a data disk
 * (Shared); it hot-plugs and unplugs Exclusive disks from a pool all domains compete for, each under an automatic
 * lease as any hot-plugged disk. Its command line names its root disk and every pool disk.
 *
 * <p>About one domain in three, chosen by the run's Random, runs the stubborn writer instead of the demo workload. The
 * demo workload writes a disk only while it holds its token; the stubborn writer opens a pool disk on its first token
 * and then writes it until it dies, unplugged or not, and outlives SIGTERM, as a VM would. So with it nothing but
 * lockwarden stands between two domains that plug the same pool disk.
 */
final class Workloads {
  /** Each op is a user's request to the API server; one that fails (API server down) is simply not counted. */
  enum Op { CREATE, DELETE, STOP, START, MIGRATE, HOT_PLUG, UNPLUG }

  /** The hot-plug pool, shared by every domain. */
  static final List<String> POOL = List.of("chaos-pool-1.img", "chaos-pool-2.img", "chaos-pool-3.img",
      "chaos-pool-4.img");

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
  /** Names are never reused: a create whose reply was lost may still have been applied. */
  private int named;
  private int created;
  private int stubborn;

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
    return s.append("; domains created: ").append(created - stubborn).append(" demo workload, ").append(stubborn)
        .append(" stubborn writer").toString();
  }

  private String create() {
    String name = "vm-" + (++named);
    List<String> order = new ArrayList<>(nodes);
    Collections.shuffle(order, random);
    boolean stubbornWriter = random.nextInt(3) == 0;
    SupervisedDomain domain = TestObjects.domain(system.apps, name, null, system.exclusive(name + "-root.img"),
        TestObjects.disk(system.disk("chaos-image.img"), AccessMode.ReadOnly),
        TestObjects.disk(system.disk("chaos-shared.img"), AccessMode.Shared));
    domain.getSpec().placement.nodeName = null;
    domain.getSpec().placement.nodes = order.stream().map(system::node).toList();
    domain.getSpec().placement.failover = FailoverPolicy.Automatic;
    List<String> command = new ArrayList<>(List.of(
        (stubbornWriter ? LocalSystem.STUBBORN : LocalSystem.WORKLOAD).toString(), "--interval", "0.25",
        system.disk(name + "-root.img")));
    POOL.forEach(disk -> command.add(system.disk(disk)));
    domain.getSpec().command = command;
    domain.getSpec().stopGracePeriodSeconds = 5L; // the stubborn writer ignores SIGTERM: each of its stops takes 5 s
    // A pool disk has an automatic lease, deleted once no domain has it plugged and made again by the next hot-plug:
    // the checker's STALE_WRITER rule, per disk file, then checks that epochs go on across the two (ARB-2).
    system.create(domain);
    created++; // counted once the API server took it, as the ops are
    stubborn += stubbornWriter ? 1 : 0;
    return "create " + name + " on " + domain.getSpec().placement.nodes + " running the "
        + (stubbornWriter ? "stubborn writer" : "demo workload");
  }

  private String migrate(SupervisedDomain d) {
    if (d == null || d.getStatus() == null || d.getStatus().phase != DomainPhase.Running || d.getStatus().node == null
        || (d.getStatus().migration != null && MigrationStatus.isActive(d.getStatus().migration))) {
      return null;
    }
    List<String> targets = nodes.stream().map(system::node).filter(n -> !n.equals(d.getStatus().node)).toList();
    String target = targets.get(random.nextInt(targets.size()));
    String mode = random.nextInt(4) == 0 ? "Cold" : "Warm";
    String name = d.getMetadata().getName();
    system.patch(name, "{\"spec\":{\"migration\":{\"targetNode\":\"" + target + "\",\"mode\":\"" + mode + "\"}}}");
    return "migrate " + name + " to " + target + " " + mode;
  }

  /** Hot-plugs a pool disk the domain does not have, or unplugs one it has, chosen at random. */
  private String plug(SupervisedDomain d, boolean plug) {
    String name = d.getMetadata().getName();
    List<String> candidates = POOL.stream().map(system::disk)
        .filter(p -> d.getSpec().disks.stream().anyMatch(x -> p.equals(x.path)) != plug).toList();
    if (candidates.isEmpty()) {
      return null;
    }
    String path = candidates.get(random.nextInt(candidates.size()));
    List<DomainDisk> disks = new ArrayList<>(d.getSpec().disks);
    if (plug) {
      disks.add(TestObjects.disk(path, AccessMode.Exclusive));
    } else {
      disks.removeIf(x -> path.equals(x.path));
    }
    d.getSpec().disks = disks;
    d.getMetadata().setManagedFields(null);
    system.admin.resource(d).update(); // optimistic: a concurrent change makes this one fail, as for a user
    return (plug ? "hot-plug " : "unplug ") + name + " " + Path.of(path).getFileName();
  }

  private static String act(Runnable r, String what) {
    r.run();
    return what;
  }
}
