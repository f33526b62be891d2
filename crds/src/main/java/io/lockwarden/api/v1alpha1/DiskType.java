package io.lockwarden.api.v1alpha1;

/** The seed's resource types: VIR_LOCK_MANAGER_RESOURCE_TYPE_DISK is the only one. */
public enum DiskType {
  Disk
}
