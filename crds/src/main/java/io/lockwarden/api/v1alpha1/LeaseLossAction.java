package io.lockwarden.api.v1alpha1;

/** What the supervisor does once the domain's right to its disks can no longer be proven. */
public enum LeaseLossAction {
  /** SIGSTOP the process group; SIGCONT once the grants are confirmed, SIGKILL once they are not. */
  Pause,
  /** SIGKILL the process group at once. */
  Kill
}
