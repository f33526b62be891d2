package io.lockwarden.api.v1alpha1;

public enum DomainLeaseState {
  Waiting,
  Granted,
  Released
}
