package io.lockwarden.api.v1alpha1;

/**
 * How a launched domain (spec.command) moves to another node. Neither moves a process's memory: lockwarden does not
 * copy a running program. A real live migration, with QEMU's memory, is libvirt's: run the VM under libvirt with
 * lockwarden as its lock manager (lockd) and use {@code virsh migrate --live}.
 */
public enum MigrationMode {
  /**
   * A warm restart: the target process is started ahead and held stopped before it runs any of its own code; at the
   * hand-off the source is frozen and drained, and the target continues from the disk state the source left. The
   * blackout is short because the target is already started; what the source held in memory is lost.
   */
  Warm,
  /** The source stops gracefully; the target process starts at the hand-off. */
  Cold,
  /**
   * The earlier name of Warm, which moved no memory either; accepted and treated as Warm.
   *
   * @deprecated use Warm
   */
  @Deprecated
  Live;

  /** Whether the target process is started ahead of the hand-off (Warm, and its old name Live). */
  public boolean startsAhead() {
    return this != Cold;
  }
}
