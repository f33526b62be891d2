package io.lockwarden.e2e.libvirt;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/** How test domains run: with KVM when this machine lets us, else with QEMU's TCG emulator. */
public enum Accel {
  KVM("kvm"),
  TCG("qemu");

  /** {@code -Dlockwarden.libvirt.accel=tcg} forces TCG (to try the fallback on a machine with KVM). */
  public static final String PROPERTY = "lockwarden.libvirt.accel";
  private static final Path DEV_KVM = Path.of("/dev/kvm");
  private static volatile Accel detected;

  private final String domainType;

  Accel(String domainType) {
    this.domainType = domainType;
  }

  /** The domain XML's {@code <domain type=...>}: "kvm" or "qemu". */
  public String domainType() {
    return domainType;
  }

  /** KVM when /dev/kvm can be opened read-write, TCG otherwise; decided once per JVM, and logged. */
  public static Accel detect() {
    Accel accel = detected;
    if (accel == null) {
      synchronized (Accel.class) {
        if (detected == null) {
          detected = probe();
        }
        accel = detected;
      }
    }
    return accel;
  }

  private static Accel probe() {
    String forced = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
    if (forced.equals("tcg") || forced.equals("qemu")) {
      System.out.println("[libvirt] accelerator: TCG (forced by -D" + PROPERTY + "=" + forced + ")");
      return TCG;
    }
    try (FileChannel kvm = FileChannel.open(DEV_KVM, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      System.out.println("[libvirt] accelerator: KVM (" + DEV_KVM + " opens read-write)");
      return KVM;
    } catch (IOException | UnsupportedOperationException | SecurityException e) {
      System.out.println("[libvirt] accelerator: TCG (" + DEV_KVM + " does not open read-write: " + e + ")");
      return TCG;
    }
  }
}
