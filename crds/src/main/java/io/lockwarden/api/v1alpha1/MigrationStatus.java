package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class MigrationStatus {
  /** Preparing, TargetReady, HandingOff, Completed, Cancelled or Failed. */
  public String phase;
  public String source;
  public String target;
  public String startedAt;
  /** From the source's release to the target holding every lock and running. */
  public Long handoffMillis;
  public String message;
}
