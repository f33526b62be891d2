package io.lockwarden.agent.domain;

import io.lockwarden.agent.lockspace.LockMode;
import io.lockwarden.agent.lockspace.OfdLocks;
import io.lockwarden.agent.observe.AgentMetrics;
import io.lockwarden.agent.report.AgentStatus;
import io.lockwarden.agent.supervisor.DomainRemains;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import io.lockwarden.api.DomainIntent;
import io.lockwarden.api.v1alpha1.DomainConditions;
import io.lockwarden.api.v1alpha1.DomainPhase;
import io.lockwarden.api.v1alpha1.ExitStatus;
import io.lockwarden.api.v1alpha1.RestartPolicy;
import io.lockwarden.api.v1alpha1.SupervisedDomain;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a supervisor says as it runs and how its domain ended: fence actions counted from its counters, the last
 * exit, a busy local lock, and whether and when the domain starts again (restartPolicy with back-off).
 */
final class Exits {
  private static final Logger log = LoggerFactory.getLogger(Exits.class);
  private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
  /** A process that ran this long before exiting starts its back-off afresh. */
  private static final Duration STABLE_RUN = Duration.ofMinutes(1);

  private final String node;
  private final AgentMetrics metrics;

  Exits(String node, AgentMetrics metrics) {
    this.node = node;
    this.metrics = metrics;
  }

  /**
   * Counts fence actions as the supervisor reports them: by its own counters, not by the phases seen, because a
   * pause and its resume can both fall between two looks (while this agent was itself stopped, say).
   */
  void observe(DomainRecord record, SupervisorState state) {
    if (state != null) {
      if (record.pausesSeen == null) { // adopted after a restart: the agent before counted what happened so far
        record.pausesSeen = state.pauses;
        record.resumesSeen = state.resumes;
      }
      for (; record.pausesSeen < state.pauses; record.pausesSeen++) {
        metrics.fenceAction("pause");
        log.warn("event=domain-paused domain={} node={} note=right to the disks not proven in time", record.key(),
            node);
      }
      for (; record.resumesSeen < state.resumes; record.resumesSeen++) {
        metrics.fenceAction("resume");
        log.info("event=domain-resumed domain={} node={}", record.key(), node);
      }
    }
    String phase = state == null ? null : state.phase;
    if (Objects.equals(phase, record.lastSupervisorPhase)) {
      return;
    }
    if ("Running".equals(phase)) {
      record.busyPath = null;
      record.busyPid = null;
    }
    record.lastSupervisorPhase = phase;
  }

  /** The supervisor is gone: record how the domain ended and decide whether and when it starts again. */
  void supervisorEnded(SupervisedDomain domain, DomainRecord record) {
    SupervisorState state = record.supervision.state().orElse(null);
    SupervisorArgs args = record.supervision.args();
    // Whatever of the domain is left (its main process dies with its supervisor, a child it forked may not) is killed,
    // and nothing of it is released before it is gone.
    record.remains = record.supervision == null ? DomainRemains.none() : record.supervision.remains();
    if (state == null || !"Exited".equals(state.phase)) {
      // It died before its own end (which drains): the agent owes the drain of what it may still have locked.
      record.drainOwed = java.util.stream.Stream.concat(args.locks().stream(), state == null || state.locks == null
              ? java.util.stream.Stream.empty() : state.locks.stream().map(SupervisorArgs.Lock::parse))
          .filter(l -> l.mode() == LockMode.WRITE).map(SupervisorArgs.Lock::path).distinct().toList();
    }
    record.supervision = null;
    record.remains.kill();
    long now = System.nanoTime();
    if (state != null && "LocalLockBusy".equals(state.phase)) {
      if (!Objects.equals(state.busyPath, record.busyPath)) {
        metrics.localLockConflict();
      }
      record.busyPath = state.busyPath;
      record.busyPid = state.busyHolderPid;
      SupervisorArgs.Lock busy = AgentStatus.lockOn(args.locks(), args, state.busyPath);
      record.busyMode = busy == null ? LockMode.WRITE.name() : busy.mode().name();
      record.busyLease = busy == null ? null : busy.lease();
      record.runningReason = "LocalLockBusy";
      record.runningMessage = state.message + "; starting as soon as it is free";
      log.warn("event=local-lock-busy domain={} node={} path={} holderPid={}", record.key(), node, state.busyPath,
          state.busyHolderPid);
      return;
    }
    if (state != null && (Boolean.TRUE.equals(state.staleHold) || record.restartForUnplug)) {
      // Ended on purpose, to start afresh at once: a held source whose grants moved (MIG-6), or an unplug by restart.
      record.notBefore = now;
      record.runningReason = record.restartForUnplug ? "UnplugRestart" : "HandedOff";
      record.runningMessage = record.restartForUnplug
          ? "restarted so that an unplugged disk it kept open is released (unplugPolicy: Restart)"
          : "its held process ended: the grants moved during the hand-off, so it starts afresh";
      record.restartForUnplug = false;
      log.info("event=domain-exited domain={} node={} reason={} note=starts afresh", record.key(), node,
          record.runningReason);
      return;
    }
    if (state == null || state.pid == null) {
      // The domain's process never started (no proven right at start, or the supervisor died first): try again soon.
      record.notBefore = now + Duration.ofSeconds(1).toNanos();
      record.runningReason = "NotStarted";
      record.runningMessage = state != null && state.message != null ? state.message : "the supervisor ended early";
      return;
    }
    if (DomainIntent.attached(domain)) {
      // libvirt's process: never ours to start again. Its disks leave the spec (AttachService.sweep), so its grants go.
      record.exitPhase = DomainPhase.Stopped;
      record.runningReason = "Detached";
      record.runningMessage = state.message != null ? state.message : "the attached process ended";
      log.info("event=domain-detached domain={} node={} pid={} message=\"{}\"", record.key(), node, state.pid,
          record.runningMessage);
      return;
    }
    ExitStatus exit = new ExitStatus();
    boolean reported = "Exited".equals(state.phase);
    exit.code = reported ? state.exitCode : null;
    exit.signal = reported ? state.exitSignal : Integer.valueOf(9);
    exit.at = Instant.now().toString();
    record.lastExit = exit;
    String how = exit.code != null ? "exited with code " + exit.code
        : "was killed by signal " + exit.signal + (reported ? "" : " (its supervisor died)");
    boolean success = exit.code != null && exit.code == 0;
    boolean asked = record.stopSent || record.killSent || !DomainIntent.wantsLeases(domain);
    if (!asked && exit.signal != null && exit.signal == 9 && "Paused".equals(record.lastSupervisorPhase)) {
      metrics.fenceAction("kill"); // pauseTimeout ran out
    }
    RestartPolicy policy = domain.getSpec().restartPolicy == null ? RestartPolicy.Always : domain.getSpec().restartPolicy;
    boolean restart = !asked && (policy == RestartPolicy.Always || (policy == RestartPolicy.OnFailure && !success));
    record.exitPhase = success || asked ? DomainPhase.Stopped : DomainPhase.Failed;
    if (asked) {
      record.runningReason = "Stopped";
      record.runningMessage = "the process " + how + " after it was asked to stop";
    } else if (restart) {
      Duration ran = Duration.ofNanos(now - record.startedAt);
      record.failures = ran.compareTo(STABLE_RUN) > 0 ? 1 : record.failures + 1;
      Duration backoff = Duration.ofSeconds(1L << Math.min(record.failures - 1, 16));
      backoff = backoff.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff;
      record.notBefore = now + backoff.toNanos();
      record.runningReason = "BackOff";
      record.runningMessage = "the process " + how + "; restartPolicy " + policy + " starts it again in "
          + backoff.toSeconds() + " s";
    } else {
      record.completedGeneration = domain.getMetadata().getGeneration();
      record.runningReason = DomainConditions.REASON_COMPLETED;
      record.runningMessage = "the process " + how + "; restartPolicy " + policy + " does not start it again";
    }
    log.info("event=domain-exited domain={} node={} code={} signal={} restart={} reason={}", record.key(), node,
        exit.code, exit.signal, restart, record.runningReason);
  }

  /** Whether the foreign holder that made the last start fail still holds the byte. */
  boolean stillBusy(DomainRecord record) {
    try {
      return OfdLocks.isBusy(Path.of(record.busyPath), LockMode.valueOf(record.busyMode));
    } catch (IOException | RuntimeException e) {
      return false; // the supervisor will find out, and say so
    }
  }
}
