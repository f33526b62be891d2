package io.lockwarden.agent.supervisor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroup this node's supervisors live in: {@code supervisors} beside the domains' own cgroups, outside the agent's
 * cgroup. Why: a container runtime stopping the agent's container kills every process in that container's cgroup (with
 * hostPID the kernel would not, so the runtime does). A supervisor left there would die with an agent upgrade, and its
 * domain with it; one moved here carries on, and the next agent adopts it (docs/operations.md, "Upgrading the agent
 * without touching running VMs").
 *
 * <p>Moving a process needs write access to the common ancestor of both cgroups. Where the agent's cgroup namespace is
 * a delegation boundary (cgroup2 mounted with nsdelegate, as systemd does, and a container in a private cgroup
 * namespace), the kernel refuses the move: the supervisor then stays in the agent's cgroup, and the agent says so, in
 * its log and in {@code lockwarden_supervisors_outside_agent_cgroup}.
 */
public final class SupervisorHome {
  private static final Logger log = LoggerFactory.getLogger(SupervisorHome.class);
  static final String DIR = "supervisors";

  private final DomainCgroup cgroup;
  private final String node;
  private final IntConsumer outsideAgentCgroup;
  private Boolean lastOutside;

  private SupervisorHome(DomainCgroup cgroup, String node, IntConsumer outsideAgentCgroup) {
    this.cgroup = cgroup;
    this.node = node;
    this.outsideAgentCgroup = outsideAgentCgroup;
  }

  /** No cgroups: supervisors stay where the agent starts them. */
  public static SupervisorHome none(String node, IntConsumer outsideAgentCgroup) {
    return new SupervisorHome(null, node, outsideAgentCgroup);
  }

  /** {@code cgroupRoot/supervisors}, made now; none if it cannot be made. */
  public static SupervisorHome under(Path cgroupRoot, String node, IntConsumer outsideAgentCgroup) {
    DomainCgroup cgroup = new DomainCgroup(cgroupRoot.resolve(DIR));
    if (hybrid()) {
      log.warn("event=cgroup-v1-present node={} note=this host also has cgroup v1 controllers: a container runtime "
          + "here kills a container's processes through them, and supervisors are moved in cgroup v2 only, so they "
          + "do not outlive the agent's container whatever lockwarden_supervisors_outside_agent_cgroup says", node);
    }
    try {
      cgroup.create();
      return new SupervisorHome(cgroup, node, outsideAgentCgroup);
    } catch (IOException e) {
      log.warn("event=supervisor-home-unavailable node={} dir={} error=\"{}\" note=supervisors stay in the agent's "
          + "cgroup and die with its container", node, cgroupRoot.resolve(DIR), e.getMessage());
      return none(node, outsideAgentCgroup);
    }
  }

  /**
   * Moves a supervisor just started (its whole JVM) into the home. Where the supervisor started last ended up is what
   * the gauge and the log say, once per change: each supervisor is moved as it starts, so they all end up alike.
   */
  void enter(long pid) {
    String error = null;
    if (cgroup != null) {
      try {
        cgroup.enter(pid);
      } catch (IOException e) {
        error = e.getMessage();
      }
    }
    boolean outside = outsideAgent(pid);
    synchronized (this) {
      if (lastOutside != null && lastOutside == outside) {
        return;
      }
      lastOutside = outside;
      outsideAgentCgroup.accept(outside ? 1 : 0);
      if (outside) {
        log.info("event=supervisor-home node={} dir={} note=supervisors live outside the agent's cgroup", node,
            cgroup == null ? "-" : cgroup.dir());
      } else {
        log.warn("event=supervisor-home-refused node={} dir={} error=\"{}\" note=supervisors share the agent's "
            + "cgroup: stopping its container stops them and their domains (docs/operations.md, Upgrading the agent "
            + "without touching running VMs)", node, cgroup == null ? "-" : cgroup.dir(),
            error == null ? "no cgroup for supervisors, or one inside the agent's" : error);
      }
    }
  }

  /**
   * Whether {@code pid} is in a cgroup neither the agent's nor below it: what a container runtime's kill of the
   * agent's cgroup does not reach. Both paths come from /proc in the agent's own cgroup namespace, so they compare.
   */
  static boolean outsideAgent(long pid) {
    String mine = DomainCgroup.pathOf("self");
    String theirs = DomainCgroup.pathOf(Long.toString(pid));
    return mine != null && theirs != null && outside(theirs, mine);
  }

  /**
   * Whether cgroup path {@code theirs} is neither {@code mine} nor below it. In a cgroup namespace, a cgroup outside the
   * namespace's root reads as {@code /..}: outside whatever the agent's own path is.
   */
  static boolean outside(String theirs, String mine) {
    if (theirs.equals("/..") || theirs.startsWith("/../")) {
      return true;
    }
    return !theirs.equals(mine) && !theirs.startsWith(mine.endsWith("/") ? mine : mine + "/");
  }

  /** Whether this process is also in cgroup v1 hierarchies with controllers (a hybrid host): lines other than 0::. */
  static boolean hybrid() {
    try {
      return Files.readAllLines(Path.of("/proc/self/cgroup")).stream()
          .map(line -> line.split(":", 3)[1]) // hierarchy-id:controllers:path
          .anyMatch(controllers -> !controllers.isEmpty() && !controllers.startsWith("name="));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
