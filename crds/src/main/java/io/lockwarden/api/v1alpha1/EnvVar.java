package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.lockwarden.api.LoaderEnvironment;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class EnvVar {
  @Required
  @Size(max = 256)
  @ValidationRule(value = "self.matches('^[A-Za-z_][A-Za-z0-9_]*$')", message = "env name must be a valid environment variable name")
  @ValidationRule(value = "!self.startsWith('LOCKWARDEN_')", message = "env names starting with LOCKWARDEN_ are set by the supervisor")
  @ValidationRule(value = LoaderEnvironment.RULE, message = LoaderEnvironment.MESSAGE)
  public String name;

  public String value;

  public EnvVar() {}

  public EnvVar(String name, String value) {
    this.name = name;
    this.value = value;
  }
}
