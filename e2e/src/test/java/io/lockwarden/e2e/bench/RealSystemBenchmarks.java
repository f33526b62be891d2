package io.lockwarden.e2e.bench;

import static io.lockwarden.testing.bench.BenchReport.progress;

import io.lockwarden.e2e.harness.LocalSystem;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.bench.BenchReport;
import io.lockwarden.testing.bench.Stats;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The items of the suite that need the real system (the operator and agents a, b and c as processes, at their
 * default timeouts): (c) contention, (d) migration, (e) fail-over, (g) the node agent and (i) agent scope. They run one after the other
 * on ONE control plane and ONE such system, started once: starting them takes tens of seconds on 2 cores, which a quick
 * run cannot pay four times. Each item leaves no domain behind, but the last (i). Their ratios are to ONE baseline, measured on the fresh
 * control plane before the system starts, which is also item (a) of the suite.
 *
 * <p>{@code -Ditems=acdegi} chooses the items ({@code -Dupdates} the size of the baseline); each writes
 * target/bench/NAME.md. Every item's own main runs it alone the same way. Run by e2e/bench.sh, never as a test.
 */
public final class RealSystemBenchmarks {
  private static final int BASELINE_UPDATES = Integer.getInteger("updates", 300);

  /** One item: its section name and what it runs. */
  record Item(String name, OnRealSystem benchmark) {}

  /** A benchmark on the running system; returns its Markdown. */
  @FunctionalInterface
  interface OnRealSystem {
    String run(LocalSystem system, double[] baseline) throws Exception;
  }

  private static final Map<Character, Item> ITEMS = new LinkedHashMap<>();

  static {
    ITEMS.put('c', new Item("contention", ContentionBenchmark::run));
    ITEMS.put('d', new Item("migration", MigrationBenchmark::run));
    ITEMS.put('e', new Item("failover", FailoverBenchmark::run));
    ITEMS.put('g', new Item("agent", AgentBenchmark::run));
    ITEMS.put('i', new Item("scope", AgentScopeBenchmark::run)); // last: it leaves its domains to the system's end
  }

  private RealSystemBenchmarks() {}

  public static void main(String[] args) throws Exception {
    String letters = System.getProperty("items", "acdegi");
    Map<Character, Item> chosen = new LinkedHashMap<>();
    ITEMS.forEach((letter, item) -> {
      if (letters.indexOf(letter) >= 0) {
        chosen.put(letter, item);
      }
    });
    runAll(chosen, letters.indexOf('a') >= 0);
  }

  /** Runs one item alone, on a system of its own. */
  static void runAlone(char letter) throws Exception {
    runAll(Map.of(letter, ITEMS.get(letter)), false);
  }

  private static void runAll(Map<Character, Item> items, boolean reportBaseline) throws Exception {
    long start = System.nanoTime();
    try (ControlPlane controlPlane = ControlPlane.start()) {
      progress("baseline: " + BASELINE_UPDATES + " status updates with optimistic concurrency on one DiskLease");
      double[] baseline = Stats.baseline(controlPlane.admin(), BASELINE_UPDATES);
      progress(String.format("%sbaseline: p50 %.1f ms, p99 %.1f ms, %.1f updates/s", reportBaseline ? "== (a) " : "",
          Stats.percentile(baseline, 50), Stats.percentile(baseline, 99), Stats.perSecond(baseline)));
      if (reportBaseline) {
        BenchReport.write("baseline", baselineReport(baseline));
      }
      if (items.isEmpty()) {
        return; // the baseline alone
      }
      progress("starting the operator and agents a, b and c at their default timeouts");
      // Empty environments: every timeout is the component's default, not LocalSystem.FENCING_*.
      try (LocalSystem system = LocalSystem.start(controlPlane, "bench", Map.of(), Map.of(), "a", "b", "c")) {
        system.awaitNodesAlive(3);
        for (var entry : items.entrySet()) {
          progress(String.format("== (%s) %s (%.0f s after the control plane was started)", entry.getKey(),
              entry.getValue().name(), (System.nanoTime() - start) / 1e9));
          BenchReport.write(entry.getValue().name(), entry.getValue().benchmark().run(system, baseline));
        }
      }
    }
  }

  private static String baselineReport(double[] baseline) {
    return "Real kube-apiserver and etcd on loopback (the test control plane), nothing else running on it yet.\n"
        + "One client PUTs the status of one DiskLease, each update carrying the resourceVersion the previous one\n"
        + "returned (the write every grant, release and fence is made of), one after the other. The round trip runs\n"
        + "from just before the call to its answer; updates per second is n over the sum of the round trips. Items c,\n"
        + "d, e and g of the same run are ratios of exactly this measurement; b and f measure it again on their own\n"
        + "control planes.\n\n"
        + Stats.TABLE_HEADER
        + Stats.baselineRow(baseline)
        + "\n" + Stats.baselineRate(baseline);
  }
}
