package io.lockwarden.operator.it;

import static io.lockwarden.testing.TestObjects.createNamespace;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainLeaseState;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.TestObjects;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One operator process with simulated agents, its own system namespace for node Leases and its own namespace for
 * domains, on the shared control plane. Node names and paths carry a per-cluster prefix so classes never meet.
 */
public final class Cluster implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(60);

  public final ControlPlane controlPlane;
  public final KubernetesClient admin;
  public final String prefix;
  public final String system;
  public final String apps;
  private final Map<String, String> operatorEnv;
  private final Map<String, SimulatedAgent> agents = new HashMap<>();
  private final Set<String> killed = new HashSet<>();
  private final List<OperatorProcess> operators = new ArrayList<>();

  private Cluster(ControlPlane controlPlane, String prefix, Map<String, String> operatorEnv) {
    this.controlPlane = controlPlane;
    this.admin = controlPlane.admin();
    this.prefix = prefix;
    this.operatorEnv = operatorEnv;
    this.system = createNamespace(admin, prefix + "-system");
    this.apps = createNamespace(admin, prefix + "-apps");
  }

  /** A cluster with one operator (leader election off unless the env says otherwise) and agents on {@code nodes}. */
  public static Cluster start(ControlPlane controlPlane, String prefix, Map<String, String> operatorEnv, String... nodes) {
    Cluster cluster = new Cluster(controlPlane, prefix, operatorEnv);
    for (String node : nodes) {
      cluster.startAgent(node);
    }
    cluster.startOperator(prefix + "-operator");
    return cluster;
  }

  public OperatorProcess startOperator(String name) {
    Map<String, String> env = new HashMap<>(Map.of("LOCKWARDEN_LEADER_ELECTION", "false"));
    env.putAll(operatorEnv);
    OperatorProcess operator = OperatorProcess.start(controlPlane, name + "-" + operators.size(), system, env);
    operators.add(operator);
    return operator;
  }

  public OperatorProcess operator() {
    return operators.get(operators.size() - 1);
  }

  public String node(String shortName) {
    return prefix + "-" + shortName;
  }

  public String path(String file) {
    return "/srv/" + prefix + "/" + file;
  }

  public SimulatedAgent startAgent(String shortName) {
    SimulatedAgent agent = SimulatedAgent.start(admin, system, node(shortName));
    agents.put(shortName, agent);
    killed.remove(shortName);
    return agent;
  }

  /** Stops an agent for good: its node stops renewing, as a dead node would. Its Lease stays. */
  public void killAgent(String shortName) {
    agents.remove(shortName).close();
    killed.add(shortName);
  }

  /**
   * The nodes whose agents were killed and not started again are gone for good: their Leases are deleted, as
   * operations.md says to, so they leave the quorum's member set. Without it, dead nodes pile up in the set of a
   * cluster shared by several tests until no majority of it acknowledges, and nobody is fenced (docs/safety.md,
   * TIME-4).
   */
  public void removeDeadNodes() {
    for (String shortName : killed) {
      admin.leases().inNamespace(system).withName(NodeLeases.name(node(shortName))).delete();
    }
    killed.clear();
  }

  public SupervisedDomain create(String name, String shortNode, DomainDisk... disks) {
    return admin.resource(TestObjects.domain(apps, name, node(shortNode), disks)).create();
  }

  public SupervisedDomain create(SupervisedDomain domain) {
    return admin.resource(domain).create();
  }

  public SupervisedDomain domain(String name) {
    return admin.resources(SupervisedDomain.class).inNamespace(apps).withName(name).get();
  }

  public DiskLease lease(String name) {
    return admin.resources(DiskLease.class).withName(name).get();
  }

  public DiskLease leaseFor(String file) {
    return lease(LeaseNames.autoName(path(file)));
  }

  /** As {@code kubectl patch --type merge} would: no resourceVersion, so status writes in between do not conflict. */
  public void setRunning(String domain, boolean running) {
    admin.resources(SupervisedDomain.class).inNamespace(apps).withName(domain)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"running\":" + running + "}}");
  }

  /** The domains holding the lease, as namespace/name. */
  public Set<String> holders(String leaseName) {
    DiskLease lease = lease(leaseName);
    return lease == null || lease.getStatus() == null ? Set.of()
        : lease.getStatus().holders.stream().map(h -> h.domain).collect(Collectors.toSet());
  }

  /** Who waits for a lease; a lease nobody has asked for yet may have no status at all. */
  public Set<String> waiting(String leaseName) {
    DiskLease lease = lease(leaseName);
    return lease == null || lease.getStatus() == null ? Set.of()
        : lease.getStatus().waiting.stream().map(w -> w.domain).collect(Collectors.toSet());
  }

  public String key(String domain) {
    return apps + "/" + domain;
  }

  public LeaseHolder awaitHolder(String leaseName, String domain) {
    return Await.value(domain + " holds " + leaseName, WAIT, () -> {
      DiskLease lease = lease(leaseName);
      return lease == null || lease.getStatus() == null ? null : lease.getStatus().holders.stream()
          .filter(h -> h.domain.equals(key(domain))).findFirst().orElse(null);
    });
  }

  /** Waits until the domain's status shows every lease Granted. */
  public SupervisedDomain awaitAllGranted(String domain) {
    return Await.value(domain + " has all its leases granted", WAIT, () -> {
      SupervisedDomain d = domain(domain);
      return d != null && d.getStatus() != null && d.getStatus().leases != null && !d.getStatus().leases.isEmpty()
          && d.getStatus().leases.stream().allMatch(l -> l.state == DomainLeaseState.Granted) ? d : null;
    });
  }

  public void awaitWaiting(String leaseName, String domain) {
    Await.until(domain + " waits for " + leaseName, WAIT, () -> {
      DiskLease lease = lease(leaseName);
      return lease != null && lease.getStatus() != null
          && lease.getStatus().waiting.stream().anyMatch(w -> w.domain.equals(key(domain)));
    });
  }

  public String conditionReason(String domain, String type) {
    SupervisedDomain d = domain(domain);
    return d == null || d.getStatus() == null || d.getStatus().conditions == null ? null
        : d.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).map(c -> c.getReason())
            .filter(Objects::nonNull).findFirst().orElse(null);
  }

  @Override
  public void close() {
    operators.forEach(OperatorProcess::close);
    agents.values().forEach(SimulatedAgent::close);
  }
}
