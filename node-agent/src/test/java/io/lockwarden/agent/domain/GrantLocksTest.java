package io.lockwarden.agent.domain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.agent.policy.NodePolicy;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.api.v1alpha1.AccessMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real files and symlinks: which lock a grant takes, and what happens when its path stops resolving. */
class GrantLocksTest {
  @TempDir
  Path root;

  @Test
  void aLockIsNamedByThePathAsWrittenAndTakenOnWhereItResolves() throws Exception {
    Path real = Files.createFile(root.resolve("real.img"));
    Path link = Files.createSymbolicLink(root.resolve("by-id"), real);
    GrantLocks locks = new GrantLocks(new NodePolicy(Set.of(), List.of(root)));

    SupervisorArgs.Lock lock = locks.lockFor(new Grant("disk-1", "uid", link.toString(), AccessMode.Exclusive, 4));

    assertThat(lock.name()).isEqualTo(link.toString());
    assertThat(lock.path()).isEqualTo(real.toRealPath());
    assertThat(SupervisorArgs.Lock.parse(lock.line())).as("through the run directory and back").isEqualTo(lock);
  }

  /** Hole (g): a path that stops resolving keeps a grant in use on its last target, never silently unlocking. */
  @Test
  void aGrantInUseKeepsItsLastTargetWhileItsPathFailsToResolve() throws Exception {
    Path real = Files.createFile(root.resolve("real.img"));
    Path link = Files.createSymbolicLink(root.resolve("link.img"), real);
    GrantLocks locks = new GrantLocks(new NodePolicy(Set.of(), List.of(root)));
    Grant grant = new Grant("disk-1", "uid", link.toString(), AccessMode.Exclusive, 4);
    SupervisorArgs.Lock first = locks.lockInUse(grant);

    Files.delete(link);

    assertThat(locks.lockInUse(grant)).isEqualTo(first);
    assertThatThrownBy(() -> locks.lockFor(grant)).as("a new start needs the path to resolve now")
        .isInstanceOf(NodePolicy.Refused.class);
    locks.retain(Set.of());
    assertThatThrownBy(() -> locks.lockInUse(grant)).as("once the grant has ended, nothing is kept")
        .isInstanceOf(NodePolicy.Refused.class);
  }

  @Test
  void lockLinesOfEarlierVersionsStillParse() {
    SupervisorArgs.Lock lock = SupervisorArgs.Lock.parse("WRITE,7,disk-test,/srv/disks/a,b.img");
    assertThat(lock.path()).hasToString("/srv/disks/a,b.img");
    assertThat(lock.name()).isEqualTo("/srv/disks/a,b.img");
    SupervisorArgs.Lock named = new SupervisorArgs.Lock(io.lockwarden.agent.lockspace.LockMode.READ, 2, "l",
        "/dev/disk/by-id/a,b", Path.of("/dev/sdb"));
    assertThat(SupervisorArgs.Lock.parse(named.line())).isEqualTo(named);
  }
}
