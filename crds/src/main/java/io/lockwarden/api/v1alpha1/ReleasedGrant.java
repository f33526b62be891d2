package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One grant the agent has let go of, named by its lease's name and uid and its epoch. The uid matters: an automatic
 * lease deleted and created again has the same name and starts its epochs afresh, so name and epoch alone could match
 * a later grant.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ReleasedGrant {
  public String leaseName;
  public String leaseUid;
  public Long epoch;

  public ReleasedGrant() {}

  public ReleasedGrant(String leaseName, String leaseUid, Long epoch) {
    this.leaseName = leaseName;
    this.leaseUid = leaseUid;
    this.epoch = epoch;
  }
}
