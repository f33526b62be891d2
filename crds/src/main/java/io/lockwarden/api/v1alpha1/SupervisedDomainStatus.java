package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * What the domain is doing. The operator writes {@link #leases} and lease conditions; the node agent writes the
 * process fields; each side patches only its own fields.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SupervisedDomainStatus {
  public DomainPhase phase;
  public String node;
  /** The seed's GetChild. */
  public Long pid;
  public Long supervisorPid;
  public SupervisorInfo supervisor;
  public List<DomainLease> leases = new ArrayList<>();
  /** "granted/total", for the printer column. */
  public String leaseSummary;
  public MigrationStatus migration;
  public ExitStatus lastExit;
  /** At least LeasesGranted, Running and Fenced. */
  public List<Condition> conditions = new ArrayList<>();
  public Long observedGeneration;
}
