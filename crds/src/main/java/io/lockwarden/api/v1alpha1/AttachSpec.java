package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.SelectableField;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.generator.annotation.Size;

/**
 * A domain another program starts, such as QEMU under libvirt's {@code lockd} lock manager: lockwarden arbitrates and
 * fences it but never launches it (the seed's New with ATTACH). The node agent that libvirt talks to writes this part
 * of the spec, and the disks, as libvirt acquires and releases them.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AttachSpec {
  /**
   * The node whose libvirt runs the domain now. Written by that node's agent on an acquire, and changed only while the
   * domain holds no grant anywhere (a migration's target acquires after its source released); the operator places the
   * domain there if spec.placement, when given, allows it.
   */
  @Size(max = 253)
  @SelectableField // an agent watches only its own node's domains
  public String node;

  /**
   * The process libvirt runs the domain as on that node, as PID:STARTTIME; written with every acquire, so that a
   * change made for an earlier process (removing the disks of a QEMU that has ended) cannot land over a later one's.
   */
  @Size(max = 64)
  public String process;
}
