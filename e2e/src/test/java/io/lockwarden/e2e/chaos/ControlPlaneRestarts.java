package io.lockwarden.e2e.chaos;

import io.lockwarden.testing.ControlPlane;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Kills kube-apiserver or etcd of the test control plane and starts it again with the very same command line,
 * environment and working directory (etcd keeps its data directory, the API server its certificates). The processes
 * are found through /proc by their ports, since the fixture that started them does not hand them out. From the moment
 * this exists it owns both processes ({@link ControlPlane#allowRestarts()}): {@link #close()} stops them.
 */
public final class ControlPlaneRestarts implements AutoCloseable {
  private final int apiPort;
  private final int etcdPort;
  private final Path logDir;
  private final List<Process> relaunched = new ArrayList<>();

  ControlPlaneRestarts(ControlPlane controlPlane, Path logDir) {
    this.apiPort = controlPlane.admin().getMasterUrl().getPort();
    this.logDir = logDir;
    String etcdUrl = argAfter(commandLine(apiServer()), "--etcd-servers");
    this.etcdPort = URI.create(etcdUrl.split(",")[0]).getPort();
    controlPlane.allowRestarts();
  }

  /**
   * The test control plane's kube-apiserver, for a test that only signals it (SIGSTOP and SIGCONT: an outage that
   * ends by itself) and so takes no ownership of it.
   */
  public static ProcessHandle apiServerOf(ControlPlane controlPlane) {
    String port = Integer.toString(controlPlane.admin().getMasterUrl().getPort());
    return find("kube-apiserver", argv -> port.equals(argAfter(argv, "--secure-port")))
        .orElseThrow(() -> new IllegalStateException("no kube-apiserver on port " + port));
  }

  /** SIGKILL to the API server, then the same command again: what a crash and a restart by systemd would do. */
  void restartApiServer() {
    restart(apiServer(), "kube-apiserver");
  }

  /** SIGKILL to etcd, then the same command again, on the same data directory. */
  void restartEtcd() {
    restart(etcd(), "etcd");
  }

  /**
   * SIGSTOP to the API server, or to etcd: an outage that leaves every connection open and silent, as a hung process
   * or a lost load balancer would. Returns the pid to continue.
   */
  long stop(boolean etcd) {
    long pid = (etcd ? etcd() : apiServer()).pid();
    io.lockwarden.e2e.harness.Signals.send("STOP", pid);
    return pid;
  }

  private ProcessHandle apiServer() {
    return find("kube-apiserver", argv -> Integer.toString(apiPort).equals(argAfter(argv, "--secure-port")))
        .orElseThrow(() -> new IllegalStateException("no kube-apiserver on port " + apiPort));
  }

  private ProcessHandle etcd() {
    String port = ":" + etcdPort;
    return find("etcd", argv -> argv.stream().anyMatch(a -> a.endsWith(port)))
        .orElseThrow(() -> new IllegalStateException("no etcd listening on " + port));
  }

  private static Optional<ProcessHandle> find(String binary, Predicate<List<String>> ours) {
    return ProcessHandle.allProcesses().filter(p -> {
      List<String> argv = commandLine(p);
      return !argv.isEmpty() && argv.get(0).endsWith("/" + binary) && ours.test(argv);
    }).findFirst();
  }

  private void restart(ProcessHandle process, String name) {
    long pid = process.pid();
    List<String> argv = commandLine(process);
    Map<String, String> env = environment(pid);
    try {
      Path cwd = Path.of("/proc", Long.toString(pid), "cwd").toRealPath();
      process.destroyForcibly();
      process.onExit().get(30, TimeUnit.SECONDS);
      ProcessBuilder builder = new ProcessBuilder(argv).directory(cwd.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(Files.createDirectories(logDir).resolve(name + ".log")
              .toFile()));
      builder.environment().clear();
      builder.environment().putAll(env);
      synchronized (relaunched) {
        relaunched.add(builder.start());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("could not restart " + name + " (pid " + pid + ")", e);
    }
  }

  private static List<String> commandLine(ProcessHandle p) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline"));
      return raw.length == 0 ? List.of() : Arrays.asList(new String(raw, StandardCharsets.UTF_8).split("\0"));
    } catch (IOException e) {
      return List.of(); // gone, or not ours to read
    }
  }

  private static Map<String, String> environment(long pid) {
    try {
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
      Map<String, String> env = new HashMap<>();
      for (String entry : new String(raw, StandardCharsets.UTF_8).split("\0")) {
        int eq = entry.indexOf('=');
        if (eq > 0) {
          env.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
      }
      return env;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String argAfter(List<String> argv, String flag) {
    for (int i = 0; i < argv.size(); i++) {
      if (argv.get(i).equals(flag) && i + 1 < argv.size()) {
        return argv.get(i + 1);
      }
      if (argv.get(i).startsWith(flag + "=")) {
        return argv.get(i).substring(flag.length() + 1);
      }
    }
    return null;
  }

  /** Stops the API server, then etcd, whichever processes serve them now (the fixture's own or relaunched ones). */
  @Override
  public void close() {
    List<ProcessHandle> serving = new ArrayList<>();
    find("kube-apiserver", argv -> Integer.toString(apiPort).equals(argAfter(argv, "--secure-port")))
        .ifPresent(serving::add);
    find("etcd", argv -> argv.stream().anyMatch(a -> a.endsWith(":" + etcdPort))).ifPresent(serving::add);
    synchronized (relaunched) {
      relaunched.forEach(p -> serving.add(p.toHandle()));
    }
    for (ProcessHandle p : serving) {
      p.destroy();
      try {
        p.onExit().get(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        p.destroyForcibly();
      }
    }
  }
}
