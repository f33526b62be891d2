package io.lockwarden.agent.supervisor;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

/**
 * The agent's supervisors started ahead ({@link SpareSupervisor}): a supervisor's JVM needs about a CPU-second to
 * start, interpreted, so a domain's start, a fail-over or a migration target would wait for it. The pool keeps
 * {@code size} spares ready and starts a new one, in the background, for each it hands out. With none ready (size 0,
 * or a storm of starts) a supervisor is started on the spot, the same way.
 *
 * <p>Every supervisor the agent starts comes from here and gets its domain on its standard input ({@link Assignment});
 * its own environment is only {@code PATH}. A spare is started in a session of its own (setsid), like any supervisor,
 * so it outlives the agent once assigned; unassigned, it exits when the agent does (end of file on its input).
 */
public final class SparePool implements AutoCloseable {
  /**
   * The supervisor's JVM: small and interpreted. One runs per domain and mostly sleeps; -Xint keeps the JIT's code
   * cache and compiler threads out of its memory (docs/benchmarks.md has the measurement).
   */
  static final List<String> JVM_FLAGS = List.of("-XX:+UseSerialGC", "-Xmx8m", "-Xss256k", "-Xint",
      "-XX:ReservedCodeCacheSize=4m", "-XX:MaxMetaspaceSize=32m", "-XX:-UsePerfData", "-Djnr.ffi.asm.enabled=false");
  static final String PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /** The agent's class path, absolute: a spare runs in "/", not in the agent's working directory. */
  static final String CLASS_PATH = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
      .map(entry -> Path.of(entry).toAbsolutePath().toString()).collect(Collectors.joining(File.pathSeparator));

  private final int size;
  private final Path log;
  private final SupervisorHome home;
  private final SupervisorArchive archiveMaker;
  /** The class-data archive once made and checked: spares then start in about half the CPU time; null until then. */
  private volatile Path archive;
  private boolean archiveStarted;
  private final Deque<Spare> ready = new ArrayDeque<>();
  private final ExecutorService starter = Executors.newSingleThreadExecutor(r -> {
    Thread thread = new Thread(r, "spare-supervisors");
    thread.setDaemon(true);
    return thread;
  });
  private int starting;
  private boolean closed;

  /**
   * @param size how many spares to keep ready (0: none, every supervisor is started when needed)
   * @param log where spares write until they have a domain (then they write to its run directory)
   * @param home the cgroup every supervisor is moved into as it starts, so that it outlives the agent's container
   */
  public SparePool(int size, Path log, SupervisorHome home) {
    this.size = size;
    this.log = log;
    this.home = home;
    this.archiveMaker = new SupervisorArchive(log.getParent(), log);
  }

  /** A live spare, or one started now if none is ready; the caller assigns it at once. */
  Spare take() throws IOException {
    Spare spare;
    synchronized (this) {
      while ((spare = ready.poll()) != null && !spare.process.isAlive()) {
        spare.letGo();
      }
    }
    fill();
    return spare != null ? spare : start(log);
  }

  /** A supervisor started now, in its home; {@code log} until it has a domain. */
  Spare start(Path log) throws IOException {
    Spare spare = Spare.start(log, archive);
    home.enter(spare.pid);
    return spare;
  }

  /** How many spares are ready now. */
  public synchronized int ready() {
    return ready.size();
  }

  /** Starts spares, in the background, until {@code size} are ready or starting. */
  public synchronized void fill() {
    if (!archiveStarted && !closed) {
      archiveStarted = true; // also with size 0: a supervisor started on the spot uses the archive too
      starter.execute(() -> archive = archiveMaker.prepare()); // first, so that the spares after it use it
    }
    while (!closed && ready.size() + starting < size) {
      starting++;
      starter.execute(this::startOne);
    }
  }

  private void startOne() {
    Spare spare = null;
    try {
      spare = start(log);
    } catch (IOException | RuntimeException e) {
      System.err.println(Instant.now() + " event=spare-supervisor-failed error=\"" + e.getMessage() + "\"");
    } finally {
      synchronized (this) {
        starting--;
        if (spare != null && closed) {
          spare.letGo();
        } else if (spare != null) {
          ready.add(spare);
        }
      }
    }
  }

  /** Lets every ready spare go (each exits on end of file); assigned supervisors are not the pool's any more. */
  @Override
  public void close() {
    List<Spare> idle;
    synchronized (this) {
      closed = true;
      idle = new ArrayList<>(ready);
      ready.clear();
    }
    starter.shutdownNow();
    idle.forEach(Spare::letGo);
  }

  /** One spare supervisor: its process, known by pid and start time like any supervisor. */
  static final class Spare {
    final Process process;
    final long pid;
    final String startTime;

    private Spare(Process process) {
      this.process = process;
      this.pid = process.pid();
      this.startTime = ProcStat.startTime(pid);
    }

    /** @param archive the class-data archive, or null; {@code more}: more JVM options */
    static Spare start(Path log, Path archive, String... more) throws IOException {
      List<String> command = new ArrayList<>(List.of("setsid", Supervision.path()));
      command.addAll(JVM_FLAGS);
      if (archive != null) {
        command.add("-XX:SharedArchiveFile=" + archive);
      }
      command.addAll(List.of(more));
      command.addAll(List.of("-cp", CLASS_PATH, SupervisorMain.class.getName(), "--spare"));
      ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
          .redirectErrorStream(true).directory(new File("/"));
      builder.environment().clear(); // nothing of the agent's (no credentials), nothing of any domain's
      builder.environment().put("PATH", PATH_ENV);
      return new Spare(builder.start());
    }

    /** Hands the spare its domain and closes the pipe: the spare reads to end of file. */
    /** {@code assignment} fits in the pipe's buffer ({@link Assignment#MAX_BYTES}): this never waits for the spare. */
    void assign(byte[] assignment) throws IOException {
      try (OutputStream in = process.getOutputStream()) {
        in.write(assignment);
      }
    }

    /**
     * For a JVM that never supervises (the archive's trainee and probe): it yields the CPU to the agent and the
     * supervisors. Never for a spare, which may become a supervisor that must check its deadline in time.
     */
    void lowerPriority() {
      try {
        new ProcessBuilder("renice", "-n", "19", "-p", Long.toString(pid)).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      } catch (IOException e) {
        // only slower
      }
    }

    void letGo() {
      try {
        process.getOutputStream().close();
      } catch (IOException e) {
        // already gone
      }
    }
  }
}
