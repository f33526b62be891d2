package io.lockwarden.agent.lockspace;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.DiskPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LockTargetTest {
  @TempDir
  Path dir;

  @Test
  void withoutALockspaceTheDiskItselfIsLocked() throws Exception {
    Path disk = dir.resolve("vm.img");

    assertThat(LockTarget.of(disk, null)).isEqualTo(disk);
  }

  @Test
  void inALockspaceTheFileIsNamedBySha256OfThePathWithMode0600AndEmpty() throws Exception {
    Path lockspace = Files.createDirectory(dir.resolve("lockspace"));
    Path disk = Path.of("/srv/disks/vm-1.qcow2");

    Path target = LockTarget.of(disk, lockspace);

    // printf %s /srv/disks/vm-1.qcow2 | sha256sum
    assertThat(target.getFileName().toString())
        .isEqualTo("b216763aa8cbc61f04c43540a3e21c7976f0b84d06f7bb81401db6193ea05c25")
        .isEqualTo(DiskPath.sha256Hex(disk.toString()));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rw-------");
    assertThat(Files.size(target)).isZero();
    assertThat(LockTarget.of(disk, lockspace)).as("the same file every time").isEqualTo(target);
  }

  /** Hole (f): a disk named through a per-host symlink gets the same lockspace file on every host. */
  @Test
  void theLockspaceFileIsNamedByThePathAsWrittenNotByWhereItResolvesOnThisHost() throws Exception {
    Path lockspace = Files.createDirectory(dir.resolve("lockspace"));
    String asWritten = "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4";
    Path onHostA = Path.of("/dev/sdb");
    Path onHostB = Path.of("/dev/sdc");

    Path a = LockTarget.of(asWritten, onHostA, lockspace);
    Path b = LockTarget.of(asWritten, onHostB, lockspace);

    assertThat(a).isEqualTo(b);
    assertThat(a.getFileName().toString()).isEqualTo(DiskPath.sha256Hex(asWritten));
    assertThat(LockTarget.of(asWritten, onHostA, null)).as("without a lockspace, the resolved file").isEqualTo(onHostA);
  }
}
