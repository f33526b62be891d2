package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/** One grant, named by its lease and its epoch (unique per grant), that the agent has let go of. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReleasedGrant {
  public String leaseName;
  public Long epoch;

  public ReleasedGrant() {}

  public ReleasedGrant(String leaseName, Long epoch) {
    this.leaseName = leaseName;
    this.epoch = epoch;
  }
}
