package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;

/** A requested move to another node: the seed's PrepareMigrate, declared. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MigrationRequest {
  @Required
  @Size(min = 1, max = 253)
  public String targetNode;

  @Default("Warm")
  public MigrationMode mode;
}
