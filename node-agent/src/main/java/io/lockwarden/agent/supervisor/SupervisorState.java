package io.lockwarden.agent.supervisor;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * What the supervisor tells the agent, as a small JSON file in its run directory, replaced atomically: the agent
 * reads it to report status and to re-adopt supervisors after its own restart (the seed's NEW_ATTACH).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public final class SupervisorState {
  public static final String FILE = io.lockwarden.agent.rundir.RunDir.STATE;

  /** Starting, LocalLockBusy, Held (for a migration), Running, Paused, Stopping, Exited. */
  public String phase;
  public long supervisorPid;
  /** Field 22 of /proc/pid/stat: with the pid, it tells this supervisor from a later process given the same pid. */
  public String supervisorStartTime;
  public Long pid;
  /** The domain's main process's start time: with {@link #pid}, it tells that process from a later one. */
  public String pidStartTime;
  public List<String> args;
  /** The locks held now, as MODE,EPOCH,LEASE,PATH lines: what the agent reports and releases by. */
  public List<String> locks;
  /** Locks no longer wanted but kept, each with who still has its disk open: the unplug waits. */
  public List<String> unplugPending;
  /** The locks held when the process was last held as a migration source: it may run again only under these. */
  public List<String> heldLocks;
  /** Set when the supervisor ended its held process because its grants had moved since the hold (a fresh start is due). */
  public Boolean staleHold;
  /** Set for LocalLockBusy: the lock file and, where /proc/locks shows it, the foreign holder. */
  public String busyPath;
  public Long busyHolderPid;
  /** Wall-clock milliseconds: when the process was last held for a migration, and last continued or started. */
  public Long heldAtMillis;
  public Long runningAtMillis;
  public Integer exitCode;
  public Integer exitSignal;
  public String message;
  /** How often this supervisor paused and resumed its process: the agent counts its fence actions by them. */
  public long pauses;
  public long resumes;

  /** For the agent and the tests; the supervisor itself never reads, so it never loads Jackson. */
  public static SupervisorState read(Path runDir) throws IOException {
    return Reader.MAPPER.readValue(runDir.resolve(FILE).toFile(), SupervisorState.class);
  }

  /** Holds the agent's one mapper; a nested class, so the supervisor, which never reads, never loads Jackson. */
  private static final class Reader {
    static final ObjectMapper MAPPER =
        new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  }

  /**
   * Written by hand rather than with Jackson: the supervisor runs once per domain, and Jackson's classes alone cost
   * it several MiB of memory.
   */
  void write(Path runDir) {
    StringBuilder json = new StringBuilder("{");
    field(json, "phase", phase);
    field(json, "supervisorPid", supervisorPid);
    field(json, "supervisorStartTime", supervisorStartTime);
    field(json, "pid", pid);
    field(json, "pidStartTime", pidStartTime);
    list(json, "args", args);
    list(json, "locks", locks);
    list(json, "unplugPending", unplugPending);
    list(json, "heldLocks", heldLocks);
    field(json, "staleHold", staleHold);
    field(json, "busyPath", busyPath);
    field(json, "busyHolderPid", busyHolderPid);
    field(json, "heldAtMillis", heldAtMillis);
    field(json, "runningAtMillis", runningAtMillis);
    field(json, "exitCode", exitCode);
    field(json, "exitSignal", exitSignal);
    field(json, "message", message);
    field(json, "pauses", pauses);
    field(json, "resumes", resumes);
    if (json.charAt(json.length() - 1) == ',') {
      json.setLength(json.length() - 1);
    }
    json.append("}");
    try {
      Path tmp = runDir.resolve(FILE + ".tmp");
      Files.writeString(tmp, json);
      Files.move(tmp, runDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void list(StringBuilder json, String name, List<String> values) {
    if (values != null) {
      json.append('"').append(name).append("\":[");
      for (int i = 0; i < values.size(); i++) {
        json.append(i == 0 ? "" : ",").append(quote(values.get(i)));
      }
      json.append("],");
    }
  }

  private static void field(StringBuilder json, String name, Object value) {
    if (value != null) {
      json.append('"').append(name).append("\":").append(value instanceof String text ? quote(text) : value).append(',');
    }
  }

  static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"').toString();
  }
}
