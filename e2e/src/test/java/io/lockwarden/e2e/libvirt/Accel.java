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

  /**
   * For a guest that boots a kernel: KVM only where the CPU has real virtualization (vmx or svm). Some machines offer a
   * /dev/kvm that runs SeaBIOS but not a Linux kernel (a nested kvm_pvm: the kernel stops at an emulation failure).
   */
  public static Accel forGuest() {
    Accel accel = detect();
    if (accel == KVM) {
      try {
        String cpuinfo = java.nio.file.Files.readString(Path.of("/proc/cpuinfo"));
        if (!java.util.regex.Pattern.compile("\\b(vmx|svm)\\b").matcher(cpuinfo).find()) {
          System.out.println("[libvirt] guest accelerator: TCG (/dev/kvm opens, but the CPU shows neither vmx nor svm: "
              + "a kernel does not boot under this KVM)");
          return TCG;
        }
      } catch (IOException e) {
        return TCG;
      }
    }
    System.out.println("[libvirt] guest accelerator: " + accel);
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
