package io.lockwarden.agent.rundir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The agent–supervisor file protocol: one directory per domain, {@code <run-dir>/domains/<domain uid>/}, and the only
 * place that knows its file names and formats. Every file one side writes and the other reads is replaced atomically
 * (written to a temporary file, then renamed), so a reader never sees half of one.
 *
 * <p>Before this directory, a supervisor learns which domain it serves, and the run directory itself, once, on its
 * standard input ({@code supervisor.Assignment}): every supervisor is started ahead as a spare ({@code SparePool}).
 *
 * <table>
 *   <caption>Files, who writes them, who reads them</caption>
 *   <tr><th>file</th><th>writer</th><th>reader</th><th>meaning</th></tr>
 *   <tr><td>{@code deadline}</td><td>agent</td><td>supervisor</td><td>the right to write: CLOCK_MONOTONIC nanoseconds
 *       until which the domain's grants are proven; missing or unreadable is a deadline in the past</td></tr>
 *   <tr><td>{@code locks}</td><td>agent</td><td>supervisor</td><td>hot-plug: the wanted lock set, one lock line each
 *       (see {@code SupervisorArgs.Lock}); absent means the supervisor's {@code --lock} arguments</td></tr>
 *   <tr><td>{@code hold}</td><td>agent</td><td>supervisor</td><td>present: hold the process stopped (or not started) for a
 *       migration hand-off</td></tr>
 *   <tr><td>{@code kill}</td><td>agent</td><td>supervisor</td><td>present: end the domain with prejudice (the seed's
 *       Free), then drain and release</td></tr>
 *   <tr><td>{@code state.json}</td><td>supervisor</td><td>agent</td><td>{@code SupervisorState}: phase, pids, held
 *       locks; what the agent reports and re-adopts by</td></tr>
 *   <tr><td>{@code incoming-for}</td><td>agent</td><td>agent</td><td>the migration (its startedAt) an incoming
 *       supervisor was started for, for an agent that adopts it</td></tr>
 *   <tr><td>{@code attached}</td><td>agent (lockd service)</td><td>agent</td><td>PID:STARTTIME of the process libvirt
 *       named in its latest acquire for an attached domain: what an attach-mode supervisor watches</td></tr>
 *   <tr><td>{@code attached-to}</td><td>agent (lockd service)</td><td>agent</td><td>namespace/name of that attached
 *       domain, for an agent that restarts while its process runs and no supervisor does yet</td></tr>
 *   <tr><td>{@code domain/fencing-tokens}</td><td>supervisor</td><td>domain</td><td>path=epoch of every held lock; in a
 *       subdirectory the domain may read, while everything above is the agent's and the supervisor's alone</td></tr>
 *   <tr><td>{@code supervisor.log}, {@code domain.log}</td><td>supervisor</td><td>people</td><td>logs</td></tr>
 * </table>
 */
public record RunDir(Path path) {
  public static final String DEADLINE = "deadline";
  public static final String LOCKS = "locks";
  public static final String HOLD = "hold";
  public static final String KILL = "kill";
  public static final String STATE = "state.json";
  public static final String INCOMING_FOR = "incoming-for";
  public static final String ATTACHED = "attached";
  public static final String ATTACHED_TO = "attached-to";
  /** The part of the run directory the domain's process may read. */
  public static final String DOMAIN_DIR = "domain";
  public static final String TOKENS = "fencing-tokens";
  public static final String SUPERVISOR_LOG = "supervisor.log";
  public static final String DOMAIN_LOG = "domain.log";

  public Path resolve(String file) {
    return path.resolve(file);
  }

  // --- deadline: written only by the agent's DeadlineKeeper, read by the supervisor every check ---

  /** The deadline, or Long.MIN_VALUE when missing or unreadable: no proof, no right. */
  public long deadline() {
    try {
      return Long.parseLong(Files.readString(path.resolve(DEADLINE), StandardCharsets.US_ASCII).trim());
    } catch (IOException | NumberFormatException e) {
      return Long.MIN_VALUE;
    }
  }

  public void writeDeadline(long monotonicNanos) throws IOException {
    replace(DEADLINE, Long.toString(monotonicNanos));
  }

  // --- hot-plug: the wanted lock set ---

  /** The lines of the wanted lock set, or null if the agent has not written one. */
  public List<String> wantedLockLines() throws IOException {
    Path file = path.resolve(LOCKS);
    if (!Files.exists(file)) {
      return null;
    }
    return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
  }

  public void writeWantedLockLines(List<String> lines) throws IOException {
    StringBuilder text = new StringBuilder();
    lines.forEach(l -> text.append(l).append('\n'));
    replace(LOCKS, text.toString());
  }

  // --- requests: hold and kill ---

  public boolean holdRequested() {
    return Files.exists(path.resolve(HOLD));
  }

  public void requestHold() throws IOException {
    if (!holdRequested()) {
      Files.writeString(path.resolve(HOLD), "");
    }
  }

  public void releaseHold() throws IOException {
    Files.deleteIfExists(path.resolve(HOLD));
  }

  public boolean killRequested() {
    return Files.exists(path.resolve(KILL));
  }

  public void requestKill() throws IOException {
    if (!killRequested()) {
      Files.writeString(path.resolve(KILL), "");
    }
  }

  /** Before a new supervisor starts here: nothing an earlier one was told or said may carry over. */
  public void clearForLaunch(boolean keepHold) throws IOException {
    Files.deleteIfExists(path.resolve(STATE));
    Files.deleteIfExists(path.resolve(LOCKS));
    Files.deleteIfExists(path.resolve(KILL));
    if (!keepHold) {
      Files.deleteIfExists(path.resolve(HOLD)); // left from an earlier migration
    }
  }

  // --- incoming-for: which migration an incoming supervisor serves ---

  public String incomingFor() {
    try {
      return Files.readString(path.resolve(INCOMING_FOR)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  public void writeIncomingFor(String migrationStartedAt) throws IOException {
    replace(INCOMING_FOR, migrationStartedAt);
  }

  // --- attached: the process an attached domain's supervisor watches ---

  /** PID:STARTTIME, or null if none was recorded. */
  public String attached() {
    try {
      return Files.readString(path.resolve(ATTACHED)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  /** Records the process libvirt named, and whose domain it is ({@code namespace/name}). */
  public void writeAttached(String domainKey, long pid, String startTime) throws IOException {
    Files.createDirectories(path);
    replace(ATTACHED_TO, domainKey);
    replace(ATTACHED, pid + ":" + startTime);
  }

  /** The namespace/name of the attached domain, or null if none was recorded. */
  public String attachedTo() {
    try {
      return Files.readString(path.resolve(ATTACHED_TO)).strip();
    } catch (IOException e) {
      return null;
    }
  }

  // --- what the domain may read ---

  public Path domainDir() {
    return path.resolve(DOMAIN_DIR);
  }

  public Path tokensFile() {
    return domainDir().resolve(TOKENS);
  }

  /** Written by the supervisor: the tokens file, world-readable in a directory the domain can reach but not write. */
  public void writeTokens(String text) throws IOException {
    Path dir = domainDir();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Path tmp = dir.resolve(TOKENS + ".tmp");
    Files.writeString(tmp, text);
    Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    Files.move(tmp, tokensFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void replace(String file, String content) throws IOException {
    Path tmp = path.resolve(file + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, path.resolve(file), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
