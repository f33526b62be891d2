package io.lockwarden.api.v1alpha1;

public enum MigrationMode {
  /** The target process starts stopped and is continued at the hand-off. */
  Live,
  /** The source stops gracefully; the target process starts at the hand-off. */
  Cold
}
