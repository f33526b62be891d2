package io.lockwarden.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.lockwarden.agent.attach.AttachConfig;
import io.lockwarden.agent.attach.AttachService;
import io.lockwarden.agent.attach.AttachedDomains;
import io.lockwarden.agent.config.AgentConfig;
import io.lockwarden.agent.lockd.LockdServer;
import io.lockwarden.agent.domain.NodeAgent;
import io.lockwarden.agent.heartbeat.NodeHeartbeat;
import io.lockwarden.agent.heartbeat.PublishedTiming;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.quorum.PeerConfig;
import io.lockwarden.agent.quorum.PeerMessage;
import io.lockwarden.agent.quorum.PeerServer;
import io.lockwarden.agent.quorum.PromiseFile;
import io.lockwarden.agent.quorum.PeerClient;
import io.lockwarden.agent.quorum.QuorumBridge;
import io.lockwarden.agent.quorum.QuorumState;
import io.lockwarden.api.NodeLeases;
import io.lockwarden.api.TimingConfigMap;
import io.lockwarden.observe.HttpEndpoints;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The node agent process: one per node, a DaemonSet in a cluster. Stopping it leaves every supervisor running. */
public final class AgentMain {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);

  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    AgentConfig config;
    PeerConfig peers;
    try {
      config = AgentConfig.from(args, System.getenv());
      peers = PeerConfig.from(System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("lockwarden-agent: " + e.getMessage());
      System.exit(2);
      return;
    }
    log.info("event=starting node={} namespace={} runDir={} lockspaceDir={} renewInterval={} fenceTimeout={} "
            + "pauseTimeout={} allowedExecutables={} allowedPathPrefixes={}", config.nodeName(), config.namespace(),
        config.runDir(), config.lockspaceDir(), config.renewInterval(), config.fenceTimeout(), config.pauseTimeout(),
        config.allowedExecutables(), config.allowedPathPrefixes());
    if (config.unsafeSkipTimingRule()) {
      log.error("event=UNSAFE-timing-rule-skipped node={} setting={}=true note=TEST ONLY: this agent renews its node "
          + "Lease even when fenceTimeout + 200ms is not below the operator's nodeTimeout + grace (docs/safety.md "
          + "TIME-2), so a node declared dead may still write while its disks are granted elsewhere. Never set it "
          + "outside the chaos suite's negative control", config.nodeName(), AgentConfig.UNSAFE_SKIP_TIMING_RULE);
    }
    KubernetesClient client = new KubernetesClientBuilder().build();
    AgentMetrics metrics = new AgentMetrics(config.nodeName());
    // The promises a predecessor gave on this node are kept; if they cannot be known, the new agent waits them out.
    PromiseFile promises = new PromiseFile(config.runDir().resolve("promises"), PromiseFile.bootId());
    QuorumState quorum = new QuorumState(config.nodeName(), System.nanoTime(), promises.load(), promises);
    // Agents may start before the operator: they renew nothing until it has published its timing.
    PublishedTiming timing = new PublishedTiming(client, config.namespace())
        .onChange(learnRounds(config.nodeName(), quorum)).start();
    NodeHeartbeat heartbeat = new NodeHeartbeat(client, config.namespace(), config.nodeName(), config.fenceTimeout(),
        System::nanoTime, timing, metrics, config.unsafeSkipTimingRule());
    NodePolicy policy = new NodePolicy(config.allowedExecutables(), config.allowedPathPrefixes());
    NodeAgent agent = new NodeAgent(config, client, policy, heartbeat, metrics);
    PeerServer peerServer = servePeers(config, peers, quorum, heartbeat, agent, metrics);
    HttpEndpoints endpoints = new HttpEndpoints(config.metricsAddress(), config.metricsPort(), metrics.registry()::scrape,
        agent::notHealthy);
    agent.start();
    LockdServer lockd = serveLibvirt(config, client, agent, policy);
    log.info("event=started node={} metricsPort={}", config.nodeName(), endpoints.port());

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("event=stopping node={} note=supervisors keep running", config.nodeName());
      if (lockd != null) {
        lockd.close();
      }
      if (peerServer != null) {
        peerServer.close();
      }
      agent.close();
      timing.close();
      endpoints.close();
      client.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }

  /**
   * Rounds as the watch delivers them (docs/safety.md, TIME-4); a value that does not parse is said once per problem
   * and leaves no window or member set, so nothing is promised or used on a guess.
   */
  private static java.util.function.BiConsumer<String, java.util.Map<String, String>> learnRounds(String node,
      QuorumState quorum) {
    java.util.concurrent.atomic.AtomicReference<String> said = new java.util.concurrent.atomic.AtomicReference<>();
    return (uid, data) -> {
      String problem = quorum.learned(uid, data, System.nanoTime());
      if (problem != null && !problem.equals(said.getAndSet(problem))) {
        log.error("event=quorum-unreadable node={} configMap={} error=\"{}\" note=no promise is given or used "
            + "until the operator publishes readable values", node, TimingConfigMap.NAME, problem);
      } else if (problem == null) {
        said.set(null);
      }
    };
  }

  /**
   * Every renewal acknowledges the newest round (or the frozen one): the operator counts it, link or no link. With a
   * peer key, the agent also answers its peers and, once a renewal is overdue, asks them (TIME-4). Without one it
   * neither promises nor asks, and an outage pauses its domains at fenceTimeout (TIME-3).
   */
  private static PeerServer servePeers(AgentConfig config, PeerConfig peers, QuorumState quorum,
      NodeHeartbeat heartbeat, NodeAgent agent, AgentMetrics metrics) throws java.io.IOException {
    String node = config.nodeName();
    if (!peers.enabled()) {
      heartbeat.acknowledge(() -> acknowledgement(quorum, null));
      log.warn("event=peer-link-off node={} note=no LOCKWARDEN_PEER_KEY_FILE: an outage of the API server pauses this "
          + "node's domains at fenceTimeout (docs/safety.md, TIME-3)", node);
      return null;
    }
    PeerMessage messages = new PeerMessage(peers.key());
    PeerServer server = new PeerServer(node, quorum, messages, System::nanoTime, peers.listen()).start();
    String address = peers.advertised(server.port());
    heartbeat.acknowledge(() -> acknowledgement(quorum, address));
    agent.coverage(quorum::coveredUntil, quorum::dropCoverage);
    new QuorumBridge(node, quorum, new PeerClient(node, messages), heartbeat, config.fenceTimeout(),
        config.renewInterval(), agent::extendOnPromises, metrics).start();
    log.info("event=peer-link-serving node={} listen={} advertised={}", node, peers.listen(), address);
    return server;
  }

  private static java.util.Map<String, String> acknowledgement(QuorumState quorum, String address) {
    java.util.Map<String, String> marks = new java.util.HashMap<>();
    marks.put(NodeLeases.ROUND_ANNOTATION, quorum.acknowledgement(System.nanoTime()));
    marks.put(NodeLeases.PEER_ANNOTATION, address);
    return marks;
  }

  /**
   * libvirt's lock manager: the lockd protocol on libvirt's virtlockd socket, answered from the cluster. Started after
   * the agent has adopted its supervisors and synced its caches, so that the first call sees what runs.
   */
  private static LockdServer serveLibvirt(AgentConfig config, KubernetesClient client, NodeAgent agent,
      NodePolicy policy) {
    if (config.lockdSocket() == null) {
      return null;
    }
    AttachConfig attach = AttachConfig.from(System.getenv());
    AttachService service = new AttachService(config.nodeName(),
        new AttachedDomains(client, agent.view(), attach.namespace()), agent.view(),
        config.runDir().resolve("domains"), policy, attach.declaredOnly(), attach.timeout(), agent::attached);
    int uid = jnr.posix.POSIXFactory.getNativePOSIX().getuid();
    LockdServer server;
    try {
      server = new LockdServer(config.lockdSocket(), uid, service).start();
    } catch (java.io.IOException e) {
      // The agent's own domains do not depend on it: say so loudly, and go on supervising them.
      log.error("event=lockd-unavailable node={} socket={} error=\"{}\" note=libvirt cannot use this node's agent as "
          + "its lock manager; set LOCKWARDEN_LOCKD_SOCKET=none where libvirt is not used", config.nodeName(),
          config.lockdSocket(), e.getMessage());
      return null;
    }
    java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "attach-sweep");
      thread.setDaemon(true);
      return thread;
    }).scheduleWithFixedDelay(service::sweep, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    log.info("event=lockd-serving node={} socket={} namespace={} declaredOnly={} permittedUid={}", config.nodeName(),
        config.lockdSocket(), attach.namespace(), attach.declaredOnly(), uid);
    return server;
  }
}
