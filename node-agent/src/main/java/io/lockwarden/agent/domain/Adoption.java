package io.lockwarden.agent.domain;

import io.lockwarden.agent.rundir.RunDir;
import io.lockwarden.agent.supervisor.DomainRemains;
import io.lockwarden.agent.supervisor.Supervision;
import io.lockwarden.agent.supervisor.SupervisorArgs;
import io.lockwarden.agent.supervisor.SupervisorState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The seed's NEW_ATTACH after an agent restart: the supervisors an earlier agent started are adopted, each only if its
 * pid and start time both match what it wrote (so a recycled pid is never mistaken for it), and their domains are
 * not touched.
 */
final class Adoption {
  private static final Logger log = LoggerFactory.getLogger(Adoption.class);

  private Adoption() {}

  static void adoptRunning(Path domainsDir, String node, Map<String, DomainRecord> records) throws IOException {
    try (Stream<Path> dirs = Files.list(domainsDir)) {
      for (Path dir : dirs.toList()) {
        RunDir runDir = new RunDir(dir);
        DomainRecord record = new DomainRecord(dir.getFileName().toString(), runDir);
        Supervision.adopt(runDir).ifPresentOrElse(s -> {
          record.supervision = s;
          String[] key = s.args().domain().split("/", 2);
          record.namespace = key[0];
          record.name = key[1];
          record.incoming = s.args().incoming() != null;
          if (record.incoming) {
            record.migrationStartedAt = runDir.incomingFor();
          }
          record.startedAt = System.nanoTime();
          log.info("event=supervisor-adopted domain={} node={} supervisorPid={}", record.key(), node, s.pid());
        }, () -> {
          try {
            // A supervisor that died while this agent was away: what it left is known by cgroup, or by pid and start
            // time, never by a pid alone (it may belong to another process by now).
            SupervisorState state = SupervisorState.read(dir);
            SupervisorArgs args = state.args == null ? null : SupervisorArgs.parse(state.args.toArray(String[]::new));
            record.remains = DomainRemains.of(args, state);
            name(record, args == null ? null : args.domain());
          } catch (IOException | RuntimeException e) {
            // nothing ran here, or nothing readable: nothing to kill
          }
          if (record.namespace == null) {
            name(record, runDir.attachedTo()); // a libvirt QEMU registered here, its supervisor not started yet
          }
        });
        records.put(record.uid, record);
      }
    }
  }

  /** The record's namespace and name from {@code namespace/name}, so that the agent can ask if the domain exists. */
  private static void name(DomainRecord record, String key) {
    if (key != null && key.contains("/")) {
      String[] parts = key.split("/", 2);
      record.namespace = parts[0];
      record.name = parts[1];
    }
  }
}
