package io.lockwarden.agent.supervisor;

import io.lockwarden.api.v1alpha1.LeaseLossAction;
import java.io.IOException;
import java.time.Duration;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The supervisor's side of the right to write (docs/safety.md, SUP-3 and TIME-2): once the deadline the agent wrote
 * has passed, the domain is paused (or killed, {@code onLeaseLoss: Kill}); it resumes once the deadline is renewed,
 * and is killed once it has stayed paused for {@code pauseTimeout}. One home for that rule; the loop that calls it
 * ({@link SupervisorMain}) decides only when it applies (not while held, stopping or ending).
 */
final class DeadlineFence {
  private final TrackedProcesses processes;
  private final SupervisorState state;
  private final LeaseLossAction onLeaseLoss;
  private final Duration pauseTimeout;
  private final Consumer<String> log;
  private final BiConsumer<String, String> update;
  private boolean paused;
  private long pausedAt;

  DeadlineFence(TrackedProcesses processes, SupervisorState state, LeaseLossAction onLeaseLoss,
      Duration pauseTimeout, Consumer<String> log, BiConsumer<String, String> update) {
    this.processes = processes;
    this.state = state;
    this.onLeaseLoss = onLeaseLoss;
    this.pauseTimeout = pauseTimeout;
    this.log = log;
    this.update = update;
  }

  boolean paused() {
    return paused;
  }

  /**
   * One look at the deadline. {@code holdsLocks}: an attached process holding no lock of ours (suspended, or not yet
   * given its disks) is not ours to pause.
   */
  void check(long now, long deadline, boolean holdsLocks) throws IOException {
    if (!paused && now > deadline && holdsLocks) {
      if (onLeaseLoss == LeaseLossAction.Kill) {
        processes.killAll();
        log.accept("event=fenced action=kill");
      } else {
        processes.stopAll();
        paused = true;
        pausedAt = now;
        state.pauses++;
        update.accept("Paused", "the right to the disks could not be proven in time; paused");
        log.accept("event=fenced action=pause");
      }
    } else if (paused && now <= deadline) {
      processes.continueAll();
      paused = false;
      state.resumes++;
      update.accept("Running", null);
      log.accept("event=resumed");
    } else if (paused && now - pausedAt > pauseTimeout.toNanos()) {
      processes.killAll();
      log.accept("event=fenced action=kill reason=pause-timeout");
    }
  }

  /** The process was let go after a hand-off or its roll-back: it runs, whatever it was before the hold. */
  void cleared() {
    paused = false;
  }
}
