package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.SelectableField;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** Where a domain may run: one node, or candidates in order of preference. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.nodeName) != (has(self.nodes) && size(self.nodes) > 0)",
    message = "placement needs exactly one of nodeName or nodes")
public class Placement {
  @Size(min = 1, max = 253)
  @SelectableField // an agent watches only its own node's domains
  public String nodeName;

  /** Candidates in order of preference; a repeated name adds nothing (a CEL rule against repeats is beyond the
   * API server's cost budget, since the generator cannot bound the length of list items). */
  @Size(max = 16)
  public List<String> nodes;

  /** Automatic: when the node dies, move to the next live candidate in nodes. */
  @Default("Automatic")
  public FailoverPolicy failover;

  /** Whether the domain may run on {@code node}: the one nodeName, or one of the candidates. */
  public boolean allows(String node) {
    return nodeName != null ? nodeName.equals(node) : nodes != null && nodes.contains(node);
  }
}
