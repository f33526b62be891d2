package io.lockwarden.agent.domain;

import io.lockwarden.agent.supervisor.DomainCgroup;
import io.lockwarden.agent.supervisor.SupervisorHome;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where this node's domains get their cgroups: one directory under a root of this agent's own, so that every process
 * of a domain is tracked by the kernel (docs/safety.md, SUP-6). Without a usable cgroup2 hierarchy the supervisors
 * fall back to tracking their domains as child subreapers, and the agent says so at start.
 */
public final class DomainCgroups {
  private static final Logger log = LoggerFactory.getLogger(DomainCgroups.class);

  private final Path root;

  private DomainCgroups(Path root) {
    this.root = root;
  }

  /** @param setting {@code auto}, {@code none}, or a directory in a cgroup2 hierarchy */
  public static DomainCgroups of(String setting, String node) {
    if ("none".equals(setting)) {
      log.warn("event=cgroups-off node={} note=domains are tracked as child subreapers; a process that escapes its "
          + "supervisor's death is not seen", node);
      return new DomainCgroups(null);
    }
    Path root = "auto".equals(setting)
        ? DomainCgroup.mountPoint().map(m -> m.resolve("lockwarden").resolve(node)).orElse(null) : Path.of(setting);
    if (root == null) {
      log.warn("event=cgroups-unavailable node={} note=no cgroup2 hierarchy; domains are tracked as child subreapers",
          node);
      return new DomainCgroups(null);
    }
    try {
      new DomainCgroup(root).create();
      log.info("event=cgroups node={} root={}", node, root);
      return new DomainCgroups(root);
    } catch (IOException e) {
      log.warn("event=cgroups-unavailable node={} root={} error=\"{}\" note=domains are tracked as child subreapers",
          node, root, e.getMessage());
      return new DomainCgroups(null);
    }
  }

  /** Where the supervisors live: {@code supervisors} beside the domains, or nowhere of their own without cgroups. */
  public SupervisorHome supervisorHome(String node, IntConsumer outsideAgentCgroup) {
    return root == null ? SupervisorHome.none(node, outsideAgentCgroup)
        : SupervisorHome.under(root, node, outsideAgentCgroup);
  }

  /** The cgroup directory of the domain {@code uid}, or null without cgroups. */
  public Path dirFor(String uid) {
    return root == null ? null : root.resolve(uid);
  }
}
