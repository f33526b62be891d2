package io.lockwarden.api.v1alpha1;

public enum FailoverPolicy {
  Automatic,
  Manual
}
