package io.lockwarden.api.v1alpha1;

import io.fabric8.crd.generator.annotation.SelectableField;
import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A migration's progress. Three writers, each with its own server-side-apply field manager, so none wipes another's
 * fields: the operator (phase, source, target, startedAt, handoffMillis, message), the target's agent
 * ({@link #incoming}, manager {@code lockwarden-agent-incoming}) and the source's agent ({@link #outgoing}, manager
 * {@code lockwarden-agent-outgoing}).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class MigrationStatus {
  public static final String PREPARING = "Preparing";
  public static final String TARGET_READY = "TargetReady";
  public static final String HANDING_OFF = "HandingOff";
  public static final String COMPLETED = "Completed";
  public static final String CANCELLED = "Cancelled";
  public static final String FAILED = "Failed";

  /** Preparing, TargetReady, HandingOff, Completed, Cancelled or Failed. */
  public String phase;
  @SelectableField // the source's agent watches it
  public String source;
  @SelectableField // the target's agent watches it
  public String target;
  public MigrationMode mode;
  public String startedAt;
  /** From the source's release to the target holding every lock and running. */
  public Long handoffMillis;
  public String message;
  /** The domain's generation when this migration was asked for: a later spec change may ask again. */
  public Long requestGeneration;
  public Incoming incoming;
  public Outgoing outgoing;

  /** The target agent's side. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Incoming {
    public String node;
    /** The migration this report is about (its {@code startedAt}): the operator ignores a report about another one. */
    public String startedAt;
    /** The incoming supervisor holds the Shared and ReadOnly locks and, for Warm, a stopped process. */
    public Boolean ready;
    /** Wall-clock milliseconds at which the target's process ran with every lock held. */
    public Long runningAtMillis;
    /** Why the target could not take over (a local lock held by someone else, say); the operator rolls back. */
    public String failure;
    /** After a failure: the incoming supervisor is gone and holds no lock. */
    public Boolean stopped;
  }

  /** The source agent's side. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Outgoing {
    public String node;
    /** The migration this report is about (its {@code startedAt}): the operator ignores a report about another one. */
    public String startedAt;
    /** Wall-clock milliseconds at which the source's process was stopped and its Exclusive locks released. */
    public Long releasedAtMillis;
  }

  /** The target's report, if it is about this migration and from its target; else null. */
  public Incoming currentIncoming() {
    return incoming != null && target != null && target.equals(incoming.node) && startedAt != null
        && startedAt.equals(incoming.startedAt) ? incoming : null;
  }

  /**
   * The source's report, if it is about this migration and from its source; else null. A report about an earlier
   * migration between the same nodes is stale, and a stale release taken as proof would move a grant from a source
   * that still writes.
   */
  public Outgoing currentOutgoing() {
    return outgoing != null && source != null && source.equals(outgoing.node) && startedAt != null
        && startedAt.equals(outgoing.startedAt) ? outgoing : null;
  }

  public static boolean isActive(MigrationStatus m) {
    return m != null && (PREPARING.equals(m.phase) || TARGET_READY.equals(m.phase) || HANDING_OFF.equals(m.phase));
  }
}
