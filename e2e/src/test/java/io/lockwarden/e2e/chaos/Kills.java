package io.lockwarden.e2e.chaos;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The domains the agents killed with prejudice (a fence mark, or a grant gone while the process ran), from their
 * logs, and which of them were needless: killed on a node that no fault touched in the minute before. The pauses too:
 * an outage of the control plane must pause nothing (docs/safety.md, TIME-4). A minute covers the longest chain a fault starts (fenceTimeout, pauseTimeout, node timeout,
 * agent restart). Reported, not failed: a needless kill costs a user a VM restart, never two writers.
 */
final class Kills {
  static final long WINDOW_MILLIS = 60_000;
  private static final Pattern KILL = Pattern.compile(
      "^(\\S+) \\S+ \\S+ - event=(fenced-kill|supervisor-killed) domain=(\\S+) node=(\\S+)(.*)$");

  record Kill(long atMillis, String domain, String node, String event) {}

  /** @param agentLog one agent's log; lines before {@code sinceMillis} (an earlier run's) are skipped */
  static List<Kill> parse(String agentLog, long sinceMillis) {
    List<Kill> kills = new ArrayList<>();
    for (String line : agentLog.split("\n")) {
      Matcher m = KILL.matcher(line);
      if (!m.matches()) {
        continue;
      }
      if (m.group(2).equals("supervisor-killed") && !m.group(5).contains("reason=grant-revoked")) {
        continue; // a deleted domain, or one gone from the API server: the user's doing
      }
      long at;
      try {
        at = Instant.parse(m.group(1)).toEpochMilli();
      } catch (RuntimeException e) {
        continue;
      }
      if (at >= sinceMillis) {
        kills.add(new Kill(at, m.group(3), m.group(4), m.group(2)));
      }
    }
    return kills;
  }

  private static final Pattern PAUSE =
      Pattern.compile("^(\\S+) \\S+ \\S+ - event=domain-paused domain=(\\S+) node=(\\S+).*$");

  /** The pauses an agent saw its supervisors make (a deadline passed), from its log, as kills with event "paused". */
  static List<Kill> parsePauses(String agentLog, long sinceMillis) {
    List<Kill> pauses = new ArrayList<>();
    for (String line : agentLog.split("\n")) {
      Matcher m = PAUSE.matcher(line);
      if (m.matches()) {
        try {
          long at = Instant.parse(m.group(1)).toEpochMilli();
          if (at >= sinceMillis) {
            pauses.add(new Kill(at, m.group(2), m.group(3), "paused"));
          }
        } catch (RuntimeException e) {
          // not a line of ours
        }
      }
    }
    return pauses;
  }

  /**
   * The kills (or pauses) no fault explains: no fault that explains stops (Faults.Kind#explainsStops) on their node
   * (by full node name) in the window before, nor a partition of the peer link anywhere. An outage of the control
   * plane explains nothing since TIME-4.
   */
  static List<Kill> needless(List<Kill> kills, List<Faults.Window> windows, java.util.function.UnaryOperator<String>
      fullNodeName) {
    return kills.stream().filter(k -> windows.stream().noneMatch(w -> w.kind().explainsStops()
        && (w.kind() == Faults.Kind.PEER_PARTITION || w.node() != null && fullNodeName.apply(w.node()).equals(k.node()))
        && w.startMillis() <= k.atMillis() && w.endMillis() >= k.atMillis() - WINDOW_MILLIS)).toList();
  }
}
