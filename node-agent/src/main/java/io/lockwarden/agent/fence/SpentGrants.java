package io.lockwarden.agent.fence;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Grants this node must never use again, by "lease,epoch": every grant it held when the operator fenced it, and every
 * grant it reported released. Both may still be listed on their DiskLease for a while (the operator has not acted on
 * the fence or the report yet, or the cache lags): starting, continuing or extending under one of them would be a
 * second writer beside the holder the operator grants next. A (lease, epoch) is never issued twice (ARB-2), so a key
 * can go once no DiskLease lists it for this node any more.
 *
 * <p>Kept in a file in the agent's run directory, so an agent restarted between a report and the operator's reaction
 * remembers it too.
 */
public final class SpentGrants {
  private static final Logger log = LoggerFactory.getLogger(SpentGrants.class);
  private static final String FILE = "spent-grants";

  private final Path file;
  private final Set<String> keys = new TreeSet<>();

  public SpentGrants(Path agentRunDir) {
    this.file = agentRunDir.resolve(FILE);
    try {
      if (Files.exists(file)) {
        Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).forEach(keys::add);
      }
    } catch (IOException e) {
      log.warn("event=spent-grants-unreadable file={} error=\"{}\"", file, e.getMessage());
    }
  }

  public boolean contains(String grantKey) {
    return keys.contains(grantKey);
  }

  /** A live view for {@code DomainGrants}: never copy it, it changes under the agent's lock. */
  public Set<String> view() {
    return java.util.Collections.unmodifiableSet(keys);
  }

  public void addAll(Collection<String> grantKeys) {
    if (keys.addAll(grantKeys)) {
      save();
    }
  }

  /** Forgets the keys {@code stillListed} says no DiskLease lists for this node any more. */
  public void forgetUnlisted(Predicate<String> stillListed) {
    if (keys.removeIf(k -> !stillListed.test(k))) {
      save();
    }
  }

  private void save() {
    try {
      Path tmp = file.resolveSibling(FILE + ".tmp");
      Files.writeString(tmp, String.join("\n", keys) + "\n");
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      // The memory is still right; only an agent restart before the next save could forget.
      log.error("event=spent-grants-write-failed file={} error=\"{}\"", file, e.getMessage());
    }
  }
}
