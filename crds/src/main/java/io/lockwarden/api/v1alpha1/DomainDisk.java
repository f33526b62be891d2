package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** One disk a domain uses: the seed's RegisterResource (before start) or AcquireResource (hot-plug). */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.path) != has(self.leaseName)", message = "each disk needs exactly one of path or leaseName")
public class DomainDisk {
  /** The disk file; its DiskLease is the declared one with this path, or an automatic one. */
  @Size(max = DiskPath.MAX_BYTES)
  @ValidationRule(value = DiskPath.RULE, messageExpression = DiskPath.RULE_MESSAGE, message = DiskPath.FALLBACK_MESSAGE)
  public String path;

  /** A declared DiskLease by name; the disk is that lease's path. */
  @Size(max = 253)
  @ValidationRule(value = "self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",
      message = "leaseName must be a DiskLease name: lower-case letters, digits, - and .")
  public String leaseName;

  @Default("Exclusive")
  public AccessMode mode;

  public DomainDisk() {}

  public DomainDisk(String path, AccessMode mode) {
    this.path = path;
    this.mode = mode;
  }
}
