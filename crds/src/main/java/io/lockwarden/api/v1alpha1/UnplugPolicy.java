package io.lockwarden.api.v1alpha1;

/** What a hot-unplug does while the domain's process still has the disk open (see SupervisedDomainSpec). */
public enum UnplugPolicy {
  /** Keep the disk's lock and lease until no process of the domain has it open. */
  WaitForClose,
  /** Stop the domain and start it again without the disk. */
  Restart
}
