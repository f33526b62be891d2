package io.lockwarden.e2e.libvirt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A domain for tests, as small as libvirt and QEMU allow: 1 vCPU, 64 MiB, no OS (SeaBIOS finds nothing to boot and
 * idles), disks on a virtio-scsi controller (SCSI hot-unplug completes without a guest's help; PCI's does not), no
 * graphics, video, network or balloon, the serial port appended to a file.
 *
 * <pre>
 * TestVm vm = TestVm.named("vm1").disk(TestVm.qcow2(dir.resolve("vm1.qcow2"), "16M")).build();
 * host.defineVm(vm);
 * </pre>
 */
public final class TestVm {
  public enum Format {
    QCOW2("qcow2"),
    RAW("raw");

    private final String driverType;

    Format(String driverType) {
      this.driverType = driverType;
    }

    /** {@code <driver type=...>} and {@code virsh attach-disk --subdriver}. */
    public String driverType() {
      return driverType;
    }
  }

  /** One disk: the image as the node's QEMU opens it (a path in the node's namespace), its SCSI target (sda, ...). */
  public record Disk(Path image, String target, Format format, boolean shareable) {}

  private final String name;
  private final Accel accel;
  private final int memoryMiB;
  private final List<Disk> disks;
  private final Path serial;

  /** A guest kernel to boot (with its initrd and command line), or null: SeaBIOS idles. */
  private final Path kernel;
  private final Path initrd;
  private final String cmdline;

  /** libvirt's domain uuid, or null: libvirt makes one up. */
  private final String uuid;

  private TestVm(Builder b) {
    this.uuid = b.uuid;
    this.kernel = b.kernel;
    this.initrd = b.initrd;
    this.cmdline = b.cmdline;
    this.name = b.name;
    this.accel = b.accel;
    this.memoryMiB = b.memoryMiB;
    this.disks = List.copyOf(b.disks);
    this.serial = b.serial;
  }

  public static Builder named(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  public Accel accel() {
    return accel;
  }

  public List<Disk> disks() {
    return disks;
  }

  /** The serial port's file, or null if the XML is to get one when written ({@link #writeXml}). */
  public Path serial() {
    return serial;
  }

  /** The domain XML, with the serial port in {@code serialFile}. */
  public String xml(Path serialFile) {
    StringBuilder x = new StringBuilder();
    x.append("<domain type='").append(accel.domainType()).append("'>\n")
        .append("  <name>").append(esc(name)).append("</name>\n")
        .append(uuid == null ? "" : "  <uuid>" + esc(uuid) + "</uuid>\n")
        .append("  <memory unit='MiB'>").append(memoryMiB).append("</memory>\n")
        .append("  <vcpu>1</vcpu>\n")
        .append("  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n")
        .append(kernel == null ? "" : "    <kernel>" + esc(kernel.toString()) + "</kernel>\n    <initrd>"
            + esc(initrd.toString()) + "</initrd>\n    <cmdline>" + esc(cmdline) + "</cmdline>\n")
        .append("  </os>\n")
        .append(kernel == null ? "" : "  <features>\n    <acpi/>\n  </features>\n")
        .append("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n")
        .append("  <on_crash>destroy</on_crash>\n")
        .append("  <devices>\n")
        .append("    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n")
        .append("    <controller type='scsi' index='0' model='virtio-scsi'/>\n");
    for (Disk d : disks) {
      x.append("    <disk type='file' device='disk'>\n")
          .append("      <driver name='qemu' type='").append(d.format().driverType())
          .append(kernel == null ? "'/>\n" : "' cache='none'/>\n") // a guest that writes: no host page cache
          .append("      <source file='").append(esc(d.image().toString())).append("'/>\n")
          .append("      <target dev='").append(esc(d.target())).append("' bus='scsi'/>\n")
          .append(d.shareable() ? "      <shareable/>\n" : "")
          .append("    </disk>\n");
    }
    if (serialFile != null) {
      x.append("    <serial type='file'>\n")
          .append("      <source path='").append(esc(serialFile.toString())).append("' append='on'/>\n")
          .append("      <target port='0'/>\n    </serial>\n");
    }
    x.append("    <video>\n      <model type='none'/>\n    </video>\n")
        .append("    <memballoon model='none'/>\n")
        .append("  </devices>\n</domain>\n");
    return x.toString();
  }

  /**
   * Writes the XML to {@code dir/NAME.xml} and returns that path. Without a serial file of its own the serial port goes
   * to {@code dir/NAME.serial}: keep {@code dir} a path every node sees alike (not under a node-private directory),
   * since a migration's target opens the same path.
   */
  public Path writeXml(Path dir) {
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(name + ".xml");
      Files.writeString(file, xml(serial != null ? serial : dir.resolve(name + ".serial")));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates (or replaces) an empty qcow2 image of virtual size {@code size} (qemu-img syntax: 16M, 1G). */
  public static Path qcow2(Path file, String size) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Commands.run(Duration.ofSeconds(30), List.of("qemu-img", "create", "-q", "-f", "qcow2", file.toString(), size))
        .orThrow();
    return file;
  }

  /** Creates (or replaces) a sparse raw image of {@code bytes}. */
  public static Path raw(Path file, long bytes) {
    try {
      Files.createDirectories(file.toAbsolutePath().getParent());
      Files.deleteIfExists(file);
      try (var f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
        f.setLength(bytes);
      }
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String esc(String s) {
    return s.replace("&", "&amp;").replace("'", "&apos;").replace("<", "&lt;").replace(">", "&gt;");
  }

  public static final class Builder {
    private final String name;
    private Accel accel;
    private int memoryMiB = 64;
    private final List<Disk> disks = new ArrayList<>();
    private Path serial;
    private Path kernel;
    private Path initrd;
    private String cmdline;
    private String uuid;

    private Builder(String name) {
      this.name = Objects.requireNonNull(name);
    }

    /** Default: {@link Accel#detect()}. */
    public Builder accel(Accel accel) {
      this.accel = accel;
      return this;
    }

    /** Default 64. */
    public Builder memoryMiB(int memoryMiB) {
      this.memoryMiB = memoryMiB;
      return this;
    }

    /** An exclusive qcow2 disk, on the next free target (sda, sdb, ...). */
    public Builder disk(Path image) {
      return disk(image, Format.QCOW2, false);
    }

    /**
     * A {@code <shareable/>} disk, raw: libvirt 9.0 refuses shareable qcow2 ("shared access for disk 'sdb' requires use
     * of supported storage format"), because two writers of one qcow2 would corrupt its metadata.
     */
    public Builder sharedDisk(Path image) {
      return disk(image, Format.RAW, true);
    }

    public Builder disk(Path image, Format format, boolean shareable) {
      disks.add(new Disk(image, target(disks.size()), format, shareable));
      return this;
    }

    /** The domain's uuid, as a SupervisedDomain declared beforehand names it. */
    public Builder uuid(String uuid) {
      this.uuid = uuid;
      return this;
    }

    /** Boots this kernel and initrd (direct kernel boot), its disks with {@code cache='none'}. */
    public Builder guest(Path kernel, Path initrd, String cmdline) {
      this.kernel = kernel;
      this.initrd = initrd;
      this.cmdline = cmdline;
      return this;
    }

    /** Default: {@code NAME.serial} beside the XML ({@link TestVm#writeXml}). */
    public Builder serial(Path file) {
      this.serial = file;
      return this;
    }

    public TestVm build() {
      if (accel == null) {
        accel = Accel.detect();
      }
      return new TestVm(this);
    }
  }

  /** SCSI target names: sda ... sdz. */
  public static String target(int index) {
    if (index < 0 || index >= 26) {
      throw new IllegalArgumentException("disk index " + index);
    }
    return "sd" + (char) ('a' + index);
  }
}
