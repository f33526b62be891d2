package io.lockwarden.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;

/** How the domain's process last ended: an exit code, or the signal that killed it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ExitStatus {
  public Integer code;
  public Integer signal;
  public String at;
}
