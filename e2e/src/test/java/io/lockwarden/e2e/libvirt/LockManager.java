package io.lockwarden.e2e.libvirt;

/** The {@code lock_manager} a libvirt node's qemu.conf names. */
public enum LockManager {
  /** libvirt's lockd plugin: it talks to whatever serves the node's /run/libvirt/virtlockd-sock. */
  LOCKD("lockd"),
  /** No lock plugin: libvirt takes no locks at all (QEMU's own image locks still apply). */
  NOP("nop");

  private final String confValue;

  LockManager(String confValue) {
    this.confValue = confValue;
  }

  /** As written in qemu.conf and passed to node.sh. */
  public String confValue() {
    return confValue;
  }
}
