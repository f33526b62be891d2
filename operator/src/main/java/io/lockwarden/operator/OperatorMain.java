package io.lockwarden.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.lockwarden.observe.HttpEndpoints;
import io.lockwarden.operator.config.LeanCache;
import io.lockwarden.operator.config.OperatorConfig;
import io.lockwarden.operator.domain.DomainReconciler;
import io.lockwarden.operator.fence.NodeLiveness;
import io.lockwarden.operator.fence.QuorumGate;
import io.lockwarden.operator.fence.QuorumRounds;
import io.lockwarden.operator.fence.TimingPublisher;
import io.lockwarden.operator.lease.LeaseReconciler;
import io.lockwarden.operator.lease.PathClaims;
import io.lockwarden.operator.observe.EventRecorder;
import io.lockwarden.operator.observe.OperatorMetrics;
import io.lockwarden.operator.observe.QuorumReport;
import io.lockwarden.operator.observe.SplitBrainAudit;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the lockwarden operator: node liveness, the split-brain audit, the two controllers (DiskLease arbitration
 * and SupervisedDomain placement), leader election, and the HTTP endpoints. The kubeconfig comes from the usual
 * places (in-cluster service account, KUBECONFIG, ~/.kube/config).
 */
public final class OperatorMain {
  private static final Logger log = LoggerFactory.getLogger(OperatorMain.class);

  private OperatorMain() {}

  public static void main(String[] args) throws Exception {
    OperatorConfig config;
    try {
      config = OperatorConfig.from(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("lockwarden-operator: " + e.getMessage());
      System.exit(2);
      return;
    }
    log.info("event=starting namespace={} nodeTimeout={} grace={} quorumWindow={} leaderElection={} identity={}"
        + " metricsPort={}", config.namespace(), config.nodeTimeout(), config.grace(), config.quorumWindow(),
        config.leaderElection(), config.identity(), config.metricsPort());

    KubernetesClient client = new KubernetesClientBuilder().build();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // Nobody is fenced unless a majority of nodes acknowledges this operator's rounds (docs/safety.md, TIME-4).
    QuorumGate quorum = new QuorumGate(config.quorumWindow(), config.unsafeSkipQuorum());
    if (config.unsafeSkipQuorum()) {
      log.error("event=UNSAFE-quorum-skipped setting={}=true note=TEST ONLY: this operator fences nodes whether or not "
          + "enough nodes acknowledge its rounds (docs/safety.md, TIME-4, QUO-1), so a cut-off majority running on "
          + "promises can be fenced while it writes. Never set it outside the negative control",
          OperatorConfig.UNSAFE_SKIP_QUORUM);
    }
    NodeLiveness liveness = new NodeLiveness(client, config.namespace(), config.nodeTimeout(), config.grace(), quorum);
    OperatorMetrics metrics = new OperatorMetrics(registry, liveness::aliveCount);
    EventRecorder events = new EventRecorder(client, "lockwarden-operator");
    liveness.onChange(node -> {
      if (liveness.isDead(node)) {
        metrics.nodeFenced();
      }
    });

    // The agents renew only while this timing keeps TIME-2 (docs/safety.md); published by the operator that decides.
    TimingPublisher timing = new TimingPublisher(client, config.namespace(), config.nodeTimeout(), config.grace(),
        config.identity());
    // The rounds the agents acknowledge, and the report of a disruption: the deciding operator's too.
    QuorumRounds rounds = new QuorumRounds(client, config.namespace(), liveness, quorum);
    QuorumReport report = new QuorumReport(client, config.namespace(), liveness, quorum, metrics, events);
    Runnable decide = () -> {
      timing.start();
      rounds.start();
      report.start();
    };
    AtomicBoolean stopping = new AtomicBoolean();
    Operator operator = new Operator(o -> {
      o.withKubernetesClient(client)
          .withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry)) // thousands of resources: no per-resource series
          .withCloseClientOnStop(false)
          .withStopOnInformerErrorDuringStartup(false)
          .withConcurrentReconciliationThreads(16);
      if (config.leaderElection()) {
        // client-go's proportions (15 s lease, 10 s renew deadline, 2 s retry), scaled to the configured lease.
        Duration lease = config.leaderLeaseDuration();
        o.withLeaderElectionConfiguration(LeaderElectionConfigurationBuilder
            .aLeaderElectionConfiguration("lockwarden-operator-leader")
            .withLeaseNamespace(config.namespace())
            .withIdentity(config.identity())
            .withLeaseDuration(lease)
            .withRenewDeadline(lease.multipliedBy(2).dividedBy(3))
            .withRetryPeriod(lease.dividedBy(15).multipliedBy(2))
            // JOSDK would call System.exit when leadership ends, also while we stop, from our shutdown hook, where
            // it blocks for good. We exit ourselves, and only when leadership is lost while running: the restarted
            // replica then waits as a standby.
            .withExitOnStopLeading(false)
            .withLeaderCallbacks(new LeaderCallbacks(decide, () -> {
              if (!stopping.get()) {
                log.error("event=leadership-lost identity={} note=exiting; the restarted replica is a standby",
                    config.identity());
                new Thread(() -> System.exit(1), "exit").start();
              }
            }, leader -> { }))
            .build());
      }
    });
    PathClaims pathClaims = new PathClaims(client, config.namespace());
    operator.register(new LeaseReconciler(liveness, pathClaims, metrics, events,
        config.nodeTimeout().plus(config.grace())), o -> o.withItemStore(LeanCache.store()));
    operator.register(new DomainReconciler(liveness, pathClaims, metrics, events),
        o -> o.withItemStore(LeanCache.store()));

    SplitBrainAudit audit = new SplitBrainAudit(client, metrics);
    liveness.start();
    audit.start();
    if (!config.leaderElection()) {
      decide.run(); // every replica decides
    }
    HttpEndpoints endpoints = new HttpEndpoints(System.getenv().getOrDefault("LOCKWARDEN_METRICS_ADDRESS", "0.0.0.0"),
        config.metricsPort(), registry::scrape, () -> notReady(operator, liveness));
    operator.start();
    log.info("event=started metricsPort={}", endpoints.port());

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("event=stopping");
      stopping.set(true);
      stopWithin(operator, Duration.ofSeconds(10));
      endpoints.close();
      report.close();
      rounds.close();
      timing.close();
      audit.close();
      liveness.close();
      events.close();
      client.close();
      stopped.countDown();
    }, "shutdown"));
    stopped.await();
  }

  /**
   * Stops JOSDK on a thread of its own, waiting at most {@code limit}: whatever JOSDK does while stopping, the
   * shutdown hook returns and the JVM halts.
   */
  private static void stopWithin(Operator operator, Duration limit) {
    Thread stopper = new Thread(operator::stop, "operator-stop");
    stopper.setDaemon(true);
    stopper.start();
    try {
      stopper.join(limit.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (stopper.isAlive()) {
      log.info("event=stop-incomplete note=JOSDK did not return within {}; exiting anyway", limit);
    }
  }

  /** Ready once node renewals are watched and every informer of a started operator is healthy. */
  private static String notReady(Operator operator, NodeLiveness liveness) {
    if (!liveness.isWatching()) {
      return "not watching node Leases";
    }
    if (operator.getRuntimeInfo().isStarted() && !operator.getRuntimeInfo().allEventSourcesAreHealthy()) {
      return "informers not watching: " + operator.getRuntimeInfo().unhealthyEventSources().keySet();
    }
    return null;
  }
}
