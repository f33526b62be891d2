package io.lockwarden.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real files and real symlinks: what a namespaced user could try through a SupervisedDomain. */
class NodePolicyTest {
  @TempDir
  Path root;
  private Path disks;
  private Path secret;
  private NodePolicy policy;

  @BeforeEach
  void layout() throws Exception {
    disks = Files.createDirectory(root.resolve("disks"));
    Files.createDirectory(root.resolve("disks2"));
    secret = Files.writeString(root.resolve("shadow"), "root:x");
    policy = new NodePolicy(Set.of("/usr/bin/qemu-system-x86_64", "/opt/demo/workload"), List.of(disks));
  }

  @Test
  void runsOnlyAllowlistedAbsoluteExecutables() {
    assertThat(policy.refuseCommand(List.of("/opt/demo/workload", "--disk", "x"))).isNull();
    assertThat(policy.refuseCommand(List.of("/bin/sh", "-c", "id"))).contains("'/bin/sh' is not an absolute path in");
    assertThat(policy.refuseCommand(List.of("workload"))).contains("'workload'");
    assertThat(policy.refuseCommand(List.of("/opt/demo/../../bin/sh"))).isNotNull();
  }

  @Test
  void aDiskUnderAnAllowedPrefixIsLockedAtItsCanonicalPath() throws Exception {
    Path disk = Files.createFile(disks.resolve("vm.img"));
    Path link = Files.createSymbolicLink(disks.resolve("alias.img"), disk);

    assertThat(policy.canonicalDisk(disk.toString())).isEqualTo(disk.toRealPath());
    assertThat(policy.canonicalDisk(link.toString())).as("the symlink's target is locked").isEqualTo(disk.toRealPath());
  }

  @Test
  void aSymlinkEscapingThePrefixIsRefused() throws Exception {
    Path escape = Files.createSymbolicLink(disks.resolve("escape.img"), secret);

    assertThatThrownBy(() -> policy.canonicalDisk(escape.toString()))
        .isInstanceOf(NodePolicy.Refused.class)
        .hasMessageContaining("resolves to " + secret.toRealPath())
        .hasMessageContaining("outside this agent's --allowed-path-prefixes");
  }

  @Test
  void aPrefixMatchesWholePathComponentsOnly() throws Exception {
    Path neighbour = Files.createFile(root.resolve("disks2").resolve("vm.img"));

    assertThatThrownBy(() -> policy.canonicalDisk(neighbour.toString())).isInstanceOf(NodePolicy.Refused.class);
  }

  @Test
  void aMissingDiskOrADirectoryIsRefused() {
    assertThatThrownBy(() -> policy.canonicalDisk(disks.resolve("nope.img").toString()))
        .isInstanceOf(NodePolicy.Refused.class).hasMessageContaining("does not exist");
    assertThatThrownBy(() -> policy.canonicalDisk(disks.toString()))
        .isInstanceOf(NodePolicy.Refused.class).hasMessageContaining("neither a file nor a block device");
  }
}
