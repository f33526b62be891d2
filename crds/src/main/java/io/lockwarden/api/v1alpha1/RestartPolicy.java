package io.lockwarden.api.v1alpha1;

public enum RestartPolicy {
  Always,
  OnFailure,
  Never
}
