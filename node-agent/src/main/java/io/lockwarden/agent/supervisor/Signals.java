package io.lockwarden.agent.supervisor;

import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;

/** kill(2), for the few places that signal a process they have checked by pid and start time. */
final class Signals {
  private static final POSIX POSIX_CALLS = POSIXFactory.getNativePOSIX();

  private Signals() {}

  static boolean kill(long pid, int signal) {
    return pid > 1 && POSIX_CALLS.kill((int) pid, signal) == 0;
  }
}
