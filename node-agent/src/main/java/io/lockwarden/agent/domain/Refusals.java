package io.lockwarden.agent.domain;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the node's policy refuses a domain, kept on its record for the agent's status, logged once per change. */
public final class Refusals {
  private static final Logger log = LoggerFactory.getLogger(Refusals.class);

  private final String node;

  public Refusals(String node) {
    this.node = node;
  }

  /** The domain cannot start here: it ends Failed, and asks for no lease until its spec changes. */
  public void refuseStart(DomainRecord record, String reason, String message, Long generation) {
    refuse(record, reason, message);
    record.refusedStart = true;
    record.refusedGeneration = generation;
  }

  public void refuse(DomainRecord record, String reason, String message) {
    if (!reason.equals(record.refusal) || !message.equals(record.refusalMessage)) {
      log.warn("event=domain-refused domain={} node={} reason={} message=\"{}\"", record.key(), node, reason, message);
    }
    record.refusal = reason;
    record.refusalMessage = message;
  }

  public void clear(DomainRecord record) {
    record.refusal = null;
    record.refusalMessage = null;
    record.refusedStart = false;
  }
}
