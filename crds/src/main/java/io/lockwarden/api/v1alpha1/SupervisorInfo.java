package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/** The seed's GetSupervisorPath, GetSupervisorContext and GetSupervisorArgs, as observed on the node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SupervisorInfo {
  public String path;
  /** The SELinux label the supervisor runs with, or empty. */
  public String context;
  /** The supervisor's own arguments, ending with "--" ahead of the domain's command. */
  public List<String> args;
}
