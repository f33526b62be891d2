package io.lockwarden.agent.supervisor;

import com.fasterxml.jackson.annotation.JsonInclude;
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
  public static final String FILE = "state.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Starting, LocalLockBusy, Running, Paused, Stopping, Exited. */
  public String phase;
  public long supervisorPid;
  /** Field 22 of /proc/pid/stat: with the pid, it tells this supervisor from a later process given the same pid. */
  public String supervisorStartTime;
  public Long pid;
  public List<String> args;
  /** Set for LocalLockBusy: the lock file and, where /proc/locks shows it, the foreign holder. */
  public String busyPath;
  public Long busyHolderPid;
  public Integer exitCode;
  public Integer exitSignal;
  public String message;

  public static SupervisorState read(Path runDir) throws IOException {
    return JSON.readValue(runDir.resolve(FILE).toFile(), SupervisorState.class);
  }

  void write(Path runDir) {
    try {
      Path tmp = runDir.resolve(FILE + ".tmp");
      JSON.writeValue(tmp.toFile(), this);
      Files.move(tmp, runDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
