package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.crd.generator.annotation.SelectableField;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class DiskLeaseSpec {
  /**
   * The disk, as the domains name it. Immutable: a lease is the identity of one disk. Selectable
   * ({@code --field-selector spec.path=...}), so the operator can ask the API server, not its cache, which leases
   * name a path.
   */
  @Required
  @SelectableField
  @Size(max = DiskPath.MAX_BYTES)
  @ValidationRule(value = DiskPath.RULE, messageExpression = DiskPath.RULE_MESSAGE, message = DiskPath.FALLBACK_MESSAGE)
  @ValidationRule(value = "self == oldSelf", message = "path is immutable: create a new DiskLease for another disk")
  public String path;

  @Default("Disk")
  public DiskType type;

  /** At most this many Shared or ReadOnly holders at once; unset means no limit. */
  @Min(1)
  public Integer maxSharedHolders;

  /** Only domains in these namespaces may hold this lease; empty means every namespace. */
  @Size(max = 256)
  public List<String> allowedNamespaces;
}
