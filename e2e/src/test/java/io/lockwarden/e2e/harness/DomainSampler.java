package io.lockwarden.e2e.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Watches domain processes from outside lockwarden, as a user would: every 200 ms it reads each one's
 * {@code /proc/<pid>/stat} (stopped, gone) and its cgroup's {@code cgroup.events} (frozen: lockwarden's pause with
 * cgroups, which /proc shows as sleeping; {@link Signals#stopped}), and the size of the disk it writes (the demo workload appends a record every
 * 100 ms, so a disk that stops growing is a domain that stopped writing). Everything it saw amiss is a finding.
 */
public final class DomainSampler implements AutoCloseable {
  private static final long PERIOD_MILLIS = 200;
  /** Ten records' time and then some: longer without growth is a stall a user would notice. */
  private static final long STALL_MILLIS = 2000;

  private final Map<String, Watched> watched = new TreeMap<>();
  private final List<String> findings = java.util.Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Long> samples = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  private record Watched(long pid, Path disk) {}

  private DomainSampler(Map<String, Watched> domains) {
    watched.putAll(domains);
    thread = new Thread(this::loop, "domain-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  /** @param domains name to (pid, disk file it writes) */
  public static DomainSampler watch(Map<String, Map.Entry<Long, Path>> domains) {
    Map<String, Watched> w = new TreeMap<>();
    domains.forEach((name, pidAndDisk) -> w.put(name, new Watched(pidAndDisk.getKey(), pidAndDisk.getValue())));
    return new DomainSampler(w);
  }

  private void loop() {
    Map<String, Long> size = new TreeMap<>();
    Map<String, Long> grewAt = new TreeMap<>();
    while (running) {
      long now = System.currentTimeMillis();
      watched.forEach((name, w) -> {
        samples.merge(name, 1L, Long::sum);
        String state = Signals.state(w.pid());
        if (state == null || state.equals("Z") || state.equals("X")) {
          findings.add(name + " (pid " + w.pid() + ") gone at " + now);
        } else if (Signals.stopped(w.pid())) {
          findings.add(name + " (pid " + w.pid() + ") stopped or frozen at " + now);
        }
        long bytes = sizeOf(w.disk());
        if (!size.containsKey(name) || bytes > size.get(name)) {
          size.put(name, bytes);
          grewAt.put(name, now);
        } else if (now - grewAt.get(name) > STALL_MILLIS) {
          findings.add(name + " wrote nothing for " + (now - grewAt.get(name)) + " ms at " + now);
          grewAt.put(name, now); // one finding per stall
        }
      });
      try {
        Thread.sleep(PERIOD_MILLIS); // the sampling period, not a wait for a condition
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static long sizeOf(Path disk) {
    try {
      return Files.size(disk);
    } catch (IOException e) {
      return -1;
    }
  }

  /** What it saw amiss, in order. */
  public List<String> findings() {
    synchronized (findings) {
      return List.copyOf(findings);
    }
  }

  /** How many times each domain was sampled: a sampler that never ran proves nothing. */
  public Map<String, Long> samples() {
    return Map.copyOf(samples);
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.interrupt();
    thread.join(5000);
  }
}
