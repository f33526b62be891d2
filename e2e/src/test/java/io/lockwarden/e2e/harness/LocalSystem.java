package io.lockwarden.e2e.harness;

import static io.lockwarden.testing.TestObjects.createNamespace;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DomainDisk;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.operator.lease.LeaseNames;
import io.lockwarden.testing.Await;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.TestObjects;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The whole system on this machine for one test class: one operator process and one agent process per node, all
 * real, on the shared control plane, with a shared disk directory as shared storage would be. Names carry a
 * per-class prefix so classes never meet.
 */
public final class LocalSystem implements AutoCloseable {
  public static final Duration WAIT = Duration.ofSeconds(60);
  /**
   * Timeouts for tests that hang and kill nodes: agent renewals every 1 s, fenceTimeout 6 s (the default), pauseTimeout
   * 10 s; operator nodeTimeout 8 s + grace 1 s, which keeps fenceTimeout + 0.2 s &lt; nodeTimeout + grace (safety.md,
   * TIME-2). The agents check that rule against what the operator publishes and renew nothing while it is broken.
   */
  public static final Map<String, String> FENCING_OPERATOR =
      Map.of("LOCKWARDEN_NODE_TIMEOUT", "8s", "LOCKWARDEN_GRACE", "1s");
  public static final Map<String, String> FENCING_AGENT = Map.of("LOCKWARDEN_RENEW_INTERVAL", "1s",
      "LOCKWARDEN_FENCE_TIMEOUT", "6s", "LOCKWARDEN_PAUSE_TIMEOUT", "10s");
  /** The demo workload shipped with the project. */
  public static final Path WORKLOAD = Path.of("workload", "lockwarden-demo-workload").toAbsolutePath();
  /**
   * The stubborn writer: writes as a VM does (its own offsets, never stops writing a disk it opened, ignores SIGTERM),
   * so that only lockwarden stands between two writers.
   */
  public static final Path STUBBORN = Path.of("workload", "lockwarden-stubborn-writer").toAbsolutePath();

  public final ControlPlane controlPlane;
  public final KubernetesClient admin;
  public final String prefix;
  public final String system;
  public final String apps;
  public final Path base;
  public final Path disks;
  private final Path kubeconfig;
  private final Path peerKey;
  private final Map<String, String> operatorEnv;
  private final Map<String, String> agentEnv;
  private final Map<String, JavaProcess> agents = new LinkedHashMap<>();
  private JavaProcess operator;

  private LocalSystem(ControlPlane controlPlane, String prefix, Map<String, String> operatorEnv,
      Map<String, String> agentEnv) throws IOException {
    this.controlPlane = controlPlane;
    this.admin = controlPlane.admin();
    this.prefix = prefix;
    this.operatorEnv = operatorEnv;
    this.agentEnv = agentEnv;
    this.system = createNamespace(admin, prefix + "-system");
    this.apps = createNamespace(admin, prefix + "-apps");
    this.base = Files.createDirectories(Path.of("target", "systems", system).toAbsolutePath());
    this.disks = Files.createDirectories(base.resolve("disks"));
    ownedByDomains(disks);
    this.kubeconfig = base.resolve("kubeconfig");
    // The agents' credentials: readable by them (root) only, never by a domain (SEC-4).
    Files.writeString(kubeconfig, controlPlane.kubeconfigYaml());
    Files.setPosixFilePermissions(kubeconfig, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    // The peer link's key, shared by this system's agents as the chart's Secret would be (docs/safety.md, TIME-4).
    this.peerKey = base.resolve("peer-key");
    Files.writeString(peerKey, java.util.UUID.randomUUID().toString());
    Files.setPosixFilePermissions(peerKey, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
  }

  /**
   * Domains run as nobody (the agent's default, SEC-4), as a VM runs as the qemu user: their disks, and the directory
   * tests have them write into, are theirs, as an administrator would make them.
   */
  public static void ownedByDomains(Path path) throws IOException {
    Files.setAttribute(path, "unix:uid", DOMAIN_UID);
    Files.setAttribute(path, "unix:gid", DOMAIN_UID);
  }

  /** The user and group the agents run domains as: their default, nobody. */
  public static final int DOMAIN_UID = 65534;

  /** Agents on {@code nodes} (short names), then the operator. */
  public static LocalSystem start(ControlPlane controlPlane, String prefix, Map<String, String> operatorEnv,
      Map<String, String> agentEnv, String... nodes) {
    try {
      LocalSystem system = new LocalSystem(controlPlane, prefix, operatorEnv, agentEnv);
      for (String node : nodes) {
        system.startAgent(node);
      }
      system.startOperator();
      return system;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public JavaProcess startOperator() {
    operator = startOperator("operator");
    return operator;
  }

  /** Stops this system's operator and starts it again with {@code extraEnv} on top (a negative control's, say). */
  public JavaProcess restartOperator(Map<String, String> extraEnv) {
    operator.close();
    Map<String, String> env = new HashMap<>(operatorEnv);
    env.putAll(extraEnv);
    operator = startOperator("operator", env);
    return operator;
  }

  /**
   * One more operator process, named {@code prefix-name} (its identity for leader election, which the operator
   * environment turns on with {@code LOCKWARDEN_LEADER_ELECTION=true}). The caller owns it.
   */
  public JavaProcess startOperator(String name) {
    return startOperator(name, operatorEnv);
  }

  private JavaProcess startOperator(String name, Map<String, String> operatorEnv) {
    Map<String, String> env = new HashMap<>(Map.of("KUBECONFIG", kubeconfig.toString(), "LOCKWARDEN_NAMESPACE", system,
        "LOCKWARDEN_METRICS_PORT", "0", "LOCKWARDEN_METRICS_ADDRESS", "127.0.0.1", "LOCKWARDEN_LEADER_ELECTION", "false",
        "LOCKWARDEN_IDENTITY", prefix + "-" + name));
    env.putAll(operatorEnv);
    return JavaProcess.start("operator", "io.lockwarden.operator.OperatorMain", prefix + "-" + name, env, List.of());
  }

  public JavaProcess startAgent(String shortName) {
    return startAgent(shortName, kubeconfig, Map.of());
  }

  /** One more agent, with {@code nodeEnv} on top of this system's agent environment (a negative control's, say). */
  public JavaProcess startAgent(String shortName, Map<String, String> nodeEnv) {
    return startAgent(shortName, kubeconfig, nodeEnv);
  }

  /**
   * An agent that reaches the API server through {@code kubeconfig} (for example, through a proxy), with {@code
   * nodeEnv} on top of this system's agent environment.
   */
  public JavaProcess startAgent(String shortName, Path kubeconfig, Map<String, String> nodeEnv) {
    return startAgent(shortName, kubeconfig, nodeEnv, List.of());
  }

  /** An agent started through {@code prefix}: inside a libvirt node's mount namespace, say. */
  public JavaProcess startAgent(String shortName, Path kubeconfig, Map<String, String> nodeEnv, List<String> prefix) {
    Map<String, String> env = new HashMap<>(Map.of("KUBECONFIG", kubeconfig.toString(), "LOCKWARDEN_NAMESPACE", system,
        "NODE_NAME", node(shortName), "LOCKWARDEN_RUN_DIR", runDir(shortName).toString(),
        "LOCKWARDEN_ALLOWED_EXECUTABLES", "/bin/sleep,/bin/sh," + WORKLOAD + "," + STUBBORN,
        "LOCKWARDEN_ALLOWED_PATH_PREFIXES", disks.toString(),
        "LOCKWARDEN_METRICS_PORT", "0", "LOCKWARDEN_METRICS_ADDRESS", "127.0.0.1"));
    env.put("LOCKWARDEN_LOCKD_SOCKET", "none"); // the host's libvirt socket is no test's, unless a test says so
    env.put("LOCKWARDEN_PEER_KEY_FILE", peerKey.toString());
    env.put("LOCKWARDEN_PEER_LISTEN", "127.0.0.1:0");
    env.putAll(agentEnv);
    env.putAll(nodeEnv);
    JavaProcess agent = JavaProcess.start("node-agent", "io.lockwarden.agent.AgentMain", node(shortName), env, List.of(),
        prefix);
    agents.put(shortName, agent);
    return agent;
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  /**
   * A node's kubeconfig that reaches the API server through {@code port} on the same host (a test's proxy, which can
   * cut the node off): the agent's credentials, readable by it (root) only, never by a domain (SEC-4).
   */
  public Path kubeconfigThrough(String shortNode, int port) {
    int api = admin.getMasterUrl().getPort();
    Path path = base.resolve("kubeconfig-" + shortNode);
    try {
      Files.writeString(path, controlPlane.kubeconfigYaml().replace(":" + api, ":" + port));
      Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return path;
  }

  public JavaProcess agent(String shortName) {
    return agents.get(shortName);
  }

  public JavaProcess operator() {
    return operator;
  }

  public Path runDir(String shortName) {
    return base.resolve("run-" + shortName);
  }

  public String node(String shortName) {
    return prefix + "-" + shortName;
  }

  /** A disk file in the shared disk directory, created empty if missing: its absolute path. */
  public String disk(String file) {
    try {
      Path path = disks.resolve(file);
      if (!Files.exists(path)) {
        Files.createFile(path);
        ownedByDomains(path);
      }
      return path.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public DomainDisk exclusive(String file) {
    return TestObjects.disk(disk(file), AccessMode.Exclusive);
  }

  public DomainDisk shared(String file) {
    return TestObjects.disk(disk(file), AccessMode.Shared);
  }

  /** A domain on {@code shortNode} running the demo workload, which writes to every Exclusive disk it names. */
  public SupervisedDomain workload(String name, String shortNode, DomainDisk... disks) {
    return writing(WORKLOAD, name, shortNode, disks);
  }

  /**
   * A domain on {@code shortNode} running the stubborn writer on every Exclusive disk it names. It ignores SIGTERM, so
   * every stop takes the whole stopGracePeriodSeconds (5 s) and ends with SIGKILL.
   */
  public SupervisedDomain stubborn(String name, String shortNode, DomainDisk... disks) {
    return writing(STUBBORN, name, shortNode, disks);
  }

  private SupervisedDomain writing(Path program, String name, String shortNode, DomainDisk... disks) {
    SupervisedDomain domain = TestObjects.domain(apps, name, node(shortNode), disks);
    List<String> command = new ArrayList<>(List.of(program.toString(), "--interval", "0.1"));
    for (DomainDisk disk : disks) {
      if (disk.mode == AccessMode.Exclusive) {
        command.add(disk.path);
      }
    }
    domain.getSpec().command = command;
    domain.getSpec().stopGracePeriodSeconds = 5L;
    return domain;
  }

  public SupervisedDomain create(SupervisedDomain domain) {
    return admin.resource(domain).create();
  }

  public SupervisedDomain domain(String name) {
    return admin.resources(SupervisedDomain.class).inNamespace(apps).withName(name).get();
  }

  public void delete(String name) {
    admin.resources(SupervisedDomain.class).inNamespace(apps).withName(name).delete();
  }

  /** As {@code kubectl patch --type merge} would. */
  public void patch(String name, String mergePatch) {
    admin.resources(SupervisedDomain.class).inNamespace(apps).withName(name)
        .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
  }

  public DiskLease leaseFor(String file) {
    return admin.resources(DiskLease.class).withName(LeaseNames.autoName(disks.resolve(file).toString())).get();
  }

  public List<LeaseHolder> holders(String file) {
    DiskLease lease = leaseFor(file);
    return lease == null || lease.getStatus() == null ? List.of() : lease.getStatus().holders;
  }

  public String key(String domain) {
    return apps + "/" + domain;
  }

  /** Waits until the agent reports the domain Running with a live process, and returns it. */
  public SupervisedDomain awaitRunning(String name) {
    return awaitRunning(name, null);
  }

  /** Running on {@code shortNode} (any node if null) with a live process. */
  public SupervisedDomain awaitRunning(String name, String shortNode) {
    return Await.value(name + " runs" + (shortNode == null ? "" : " on " + node(shortNode)), WAIT, () -> {
      SupervisedDomain d = domain(name);
      return d != null && d.getStatus() != null && d.getStatus().phase == DomainPhase.Running && d.getStatus().pid != null
          && (shortNode == null || node(shortNode).equals(d.getStatus().node)) && Signals.alive(d.getStatus().pid)
          ? d : null;
    });
  }

  /** Waits until the operator counts {@code count} live nodes. */
  public void awaitNodesAlive(int count) {
    Await.until(count + " nodes alive", WAIT, () -> operator.get("/metrics").contains("lockwarden_nodes_alive " + count));
  }

  public SupervisedDomain awaitPhase(String name, DomainPhase phase) {
    return Await.value(name + " reaches phase " + phase, WAIT, () -> {
      SupervisedDomain d = domain(name);
      return d != null && d.getStatus() != null && d.getStatus().phase == phase ? d : null;
    });
  }

  public void awaitGone(String name) {
    Await.until(name + " is deleted", WAIT, () -> domain(name) == null);
  }

  public io.fabric8.kubernetes.api.model.Condition condition(String name, String type) {
    SupervisedDomain d = domain(name);
    return d == null || d.getStatus() == null || d.getStatus().conditions == null ? null
        : d.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
  }

  public io.fabric8.kubernetes.api.model.Condition awaitCondition(String name, String type, String status,
      String reason) {
    return Await.value(name + " has condition " + type + "=" + status + " (" + reason + ")", WAIT, () -> {
      var c = condition(name, type);
      return c != null && status.equals(c.getStatus()) && (reason == null || reason.equals(c.getReason())) ? c : null;
    });
  }

  /**
   * What a domain's supervisor on one node's agent last wrote about itself, or null: also for a migration target's
   * held copy, which the domain's status does not show.
   */
  public SupervisorState supervisorState(String shortNode, String uid) {
    Path dir = runDir(shortNode).resolve("domains").resolve(uid);
    try {
      return Files.exists(dir.resolve(SupervisorState.FILE)) ? SupervisorState.read(dir) : null;
    } catch (IOException e) {
      return null; // being replaced at this moment: ask again
    }
  }

  /** Power-off of a node: its agent, and a domain's supervisor and process on it, die together. */
  public void powerOff(String shortNode, SupervisedDomain domainOnIt) {
    agent(shortNode).kill();
    Signals.send("KILL", domainOnIt.getStatus().supervisorPid);
    Signals.send("KILL", domainOnIt.getStatus().pid);
  }

  /** The records the demo workload appended to {@code file}, one JSON line each. */
  public List<String> records(String file) {
    try {
      return Files.readAllLines(disks.resolve(file)).stream().filter(l -> !l.isBlank()).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Stops everything this class started, supervisors and domains included: agents leave supervisors running on
   * purpose, so they are found through the run directories.
   */
  @Override
  public void close() {
    if (operator != null) {
      operator.close();
    }
    agents.values().forEach(JavaProcess::close);
    try (Stream<Path> states = Files.walk(base)) {
      for (Path state : states.filter(p -> p.getFileName().toString().equals("state.json")).toList()) {
        String json = Files.readString(state);
        for (String field : new String[] {"supervisorPid", "pid"}) {
          java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + field + "\":(\\d+)").matcher(json);
          if (m.find()) {
            Signals.send("KILL", Long.parseLong(m.group(1)));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** For messages: which agents are alive. */
  @Override
  public String toString() {
    return prefix + " agents=" + agents + " operator=" + operator + " " + Objects.toString(base);
  }
}
