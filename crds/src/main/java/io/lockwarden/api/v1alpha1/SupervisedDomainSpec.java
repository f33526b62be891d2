package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;
import java.util.Map;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.command) != has(self.attach)",
    message = "a domain needs exactly one of command (lockwarden starts it) or attach (libvirt starts it)")
@ValidationRule(value = "has(self.placement) || has(self.attach)", message = "placement is required unless attach is set")
@ValidationRule(value = "!has(self.migration) || !has(self.attach)",
    message = "an attached domain migrates through libvirt (virsh migrate), not through spec.migration")
public class SupervisedDomainSpec {
  /** The seed's "uuid" parameter. */
  @Required
  @Size(max = 36)
  @ValidationRule(
      value = "self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",
      message = "uuid must be an RFC 4122 UUID, like 123e4567-e89b-12d3-a456-426614174000")
  public String uuid;

  /** The seed's "id" parameter. */
  @Min(0)
  public Long id;

  /** Further parameters for the process (the seed's SetParameter), passed as LOCKWARDEN_PARAM_* variables. */
  @Size(max = 64)
  @ValidationRule(value = "self.all(k, k.matches('^[A-Za-z0-9_]+$'))",
      message = "parameter names may hold only letters, digits and _ (they become environment variable names)")
  public Map<String, String> parameters;

  /** Where the domain may run. Required for a domain lockwarden starts; for an attached one, the nodes it may run on. */
  public Placement placement;

  /** false asks for the process to be stopped (the seed's Shutdown); the leases are released once it is gone. */
  @Default("true")
  public Boolean running;

  /** argv of the process, argv[0] an absolute path; absent for an attached domain. */
  @Size(max = 256) // no minItems: the API server would report that instead of the clearer rule below
  @ValidationRule(value = "size(self) > 0 && size(self[0]) > 0", message = "command must name the program to run")
  public List<String> command;

  /** Present: another program (libvirt) starts the process; lockwarden attaches to it. */
  public AttachSpec attach;

  @Size(max = 128)
  public List<EnvVar> env;

  @Default("Always")
  public RestartPolicy restartPolicy;

  @Size(max = 64)
  @ValidationRule(value = "self.all(d, !has(d.path) || self.exists_one(e, has(e.path) && e.path == d.path))",
      message = "disk paths must be unique within spec.disks")
  @ValidationRule(value = "self.all(d, !has(d.leaseName) || self.exists_one(e, has(e.leaseName) && e.leaseName == d.leaseName))",
      message = "disk leaseNames must be unique within spec.disks")
  public List<DomainDisk> disks;

  /** Present: a migration to migration.targetNode is requested. Removed before the hand-off: cancelled. */
  public MigrationRequest migration;

  @Default("30")
  @Min(0)
  public Long stopGracePeriodSeconds;

  @Default("Pause")
  public LeaseLossAction onLeaseLoss;

  /**
   * What a hot-unplug does while the process still has the disk open: WaitForClose keeps the disk's lock and lease
   * until no process of the domain has it open; Restart stops the domain and starts it again without the disk, for
   * programs that never close a disk.
   */
  @Default("WaitForClose")
  public UnplugPolicy unplugPolicy;
}
