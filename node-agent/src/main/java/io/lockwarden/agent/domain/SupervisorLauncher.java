package io.lockwarden.agent.domain;

import io.lockwarden.agent.config.AgentConfig;
import io.lockwarden.agent.fence.DeadlineKeeper;
import io.lockwarden.agent.supervisor.SparePool;
import io.lockwarden.api.LoaderEnvironment;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.api.v1alpha1.LeaseLossAction;
import io.lockwarden.api.v1alpha1.MigrationMode;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import io.lockwarden.api.v1alpha1.SupervisedDomainSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Starts supervisors: the one place that builds a supervisor's arguments (the seed's GetSupervisorArgs) and its
 * domain's environment (the seed's SetParameter), for a start and for a migration target alike.
 */
public final class SupervisorLauncher {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SupervisorLauncher.class);
  /** A start needs at least this much proven time left, so a supervisor never starts into an expiring deadline. */
  public static final Duration START_MARGIN = Duration.ofSeconds(1);

  private final AgentConfig config;
  private final DeadlineKeeper deadlines;
  private final String node;
  private final DomainCgroups cgroups;
  private final SparePool spares;

  public SupervisorLauncher(AgentConfig config, DeadlineKeeper deadlines, DomainCgroups cgroups, SparePool spares) {
    this.config = config;
    this.spares = spares;
    this.deadlines = deadlines;
    this.node = config.nodeName();
    this.cgroups = cgroups;
  }

  /**
   * Starts the domain's supervisor with its first deadline written before it exists.
   *
   * @param incoming the migration mode for a migration target (held until the hand-off), else null
   */
  public void launch(SupervisedDomain domain, DomainRecord record, List<SupervisorArgs.Lock> locks,
      MigrationMode incoming, long validUntil) throws IOException {
    launch(domain, record, locks, incoming, null, validUntil);
  }

  /** The same for an attached domain: the supervisor watches {@code attach}, the process libvirt started. */
  public void launch(SupervisedDomain domain, DomainRecord record, List<SupervisorArgs.Lock> locks,
      MigrationMode incoming, SupervisorArgs.Attach attach, long validUntil) throws IOException {
    SupervisedDomainSpec spec = domain.getSpec();
    runDirectory(record.runDir.path());
    deadlines.grant(record, validUntil);
    if (incoming != null) {
      record.runDir.requestHold();
    }
    SupervisorArgs args = new SupervisorArgs(record.key(), record.runDir.path(), config.lockspaceDir(),
        spec.onLeaseLoss == null ? LeaseLossAction.Pause : spec.onLeaseLoss, config.pauseTimeout(),
        Duration.ofSeconds(spec.stopGracePeriodSeconds == null ? 30 : spec.stopGracePeriodSeconds),
        config.runAsUid(), config.runAsGid(), incoming, attach == null ? cgroups.dirFor(record.uid) : null,
        config.unsafeDisable(), attach, locks, attach == null ? spec.command : List.of());
    record.launched(Supervision.launch(args, environment(domain), spares));
  }

  /** The seed's SetParameter: the domain's identity and parameters, then its own env; nothing of the agent's. */
  private Map<String, String> environment(SupervisedDomain domain) {
    SupervisedDomainSpec spec = domain.getSpec();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.put("LOCKWARDEN_DOMAIN_NAME", domain.getMetadata().getName());
    env.put("LOCKWARDEN_DOMAIN_NAMESPACE", domain.getMetadata().getNamespace());
    env.put("LOCKWARDEN_DOMAIN_UID", domain.getMetadata().getUid());
    env.put("LOCKWARDEN_NODE_NAME", node);
    env.put("LOCKWARDEN_DOMAIN_UUID", spec.uuid);
    if (spec.id != null) {
      env.put("LOCKWARDEN_DOMAIN_ID", spec.id.toString());
    }
    if (spec.parameters != null) {
      spec.parameters.forEach((k, v) -> env.put("LOCKWARDEN_PARAM_" + k, v));
    }
    if (spec.env != null) {
      for (var e : spec.env) {
        if (LoaderEnvironment.refused(e.name)) {
          // Admission refuses these now (SEC-5); a domain admitted before that rule existed loses the variable.
          log.warn("event=env-dropped domain={} node={} name={} reason=\"it would configure the root setpriv that"
              + " starts the domain\"", domain.getMetadata().getNamespace() + "/" + domain.getMetadata().getName(),
              node, e.name);
          continue;
        }
        env.put(e.name, e.value == null ? "" : e.value);
      }
    }
    return env;
  }

  /**
   * The agent's run directories: the agent alone may list or write them; anyone may pass through, so that a domain,
   * running as another user, reaches the one file meant for it (its fencing tokens, see RunDir).
   */
  public static void runDirectory(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
  }
}
