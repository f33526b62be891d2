package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.SelectableField;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/**
 * What the domain is doing. Two writers share it, each through server-side apply with its own field manager, so
 * neither can wipe the other's fields:
 * <ul>
 *   <li>the operator ({@code lockwarden-operator}): {@code node} (the placement decision), {@code leases},
 *       {@code leaseSummary}, the phases Pending, Waiting, Starting and Fenced, and its conditions;
 *   <li>the node agent ({@code lockwarden-agent}): the process fields, {@code released}, the process phases and its
 *       conditions.
 * </ul>
 * Lists default to null, not empty: an apply that sends an empty list would claim it. {@code conditions} is a list
 * map keyed by type (see {@code io.lockwarden.api.crd.CrdFinisher}), so each writer owns its own conditions.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SupervisedDomainStatus {
  public DomainPhase phase;
  /** The node the operator placed the domain on; the agent of this node runs it. */
  @SelectableField // an agent watches only its own node's domains
  public String node;
  /** The seed's GetChild. */
  public Long pid;
  public Long supervisorPid;
  public SupervisorInfo supervisor;
  public List<DomainLease> leases;
  /** "granted/total", for the printer column. */
  public String leaseSummary;
  /**
   * Grants the node agent has let go of for good: no local lock is held for them and none will be taken. The operator
   * removes such a holder from its DiskLease. Written by the agent only.
   */
  public List<ReleasedGrant> released;
  /**
   * The local locks the supervisor holds now, as grants (lease name and epoch). Written by the agent only; a grant
   * to a running domain shows Granted in {@link #leases} only once it is here.
   */
  public List<ReleasedGrant> locks;
  public MigrationStatus migration;
  public ExitStatus lastExit;
  /** At least LeasesGranted, Running and Fenced; one entry per type. */
  public List<Condition> conditions;
  public Long observedGeneration;
}
