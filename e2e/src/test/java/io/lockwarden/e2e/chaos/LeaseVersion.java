package io.lockwarden.e2e.chaos;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One observed version of a DiskLease: who held it, as the API server said at {@code observedAtMillis}. */
public record LeaseVersion(String name, String resourceVersion, String path, long observedAtMillis,
    List<LeaseHolder> holders) {
  private static final ObjectMapper JSON = Serialization.jsonMapper();

  public LeaseVersion {
    holders = holders == null ? List.of() : List.copyOf(holders);
  }

  /** A snapshot: the holders are copied, so later changes to {@code lease} do not rewrite history. */
  public static LeaseVersion of(DiskLease lease, long observedAtMillis) {
    List<LeaseHolder> holders = new ArrayList<>();
    if (lease.getStatus() != null && lease.getStatus().holders != null) {
      lease.getStatus().holders.forEach(holder -> holders.add(copy(holder)));
    }
    return new LeaseVersion(lease.getMetadata().getName(), lease.getMetadata().getResourceVersion(),
        lease.getSpec() == null ? null : lease.getSpec().path, observedAtMillis, holders);
  }

  /** One line of a history file, without the newline. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static LeaseVersion fromJson(String line) {
    try {
      return JSON.readValue(line, LeaseVersion.class);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("not a lease version: " + line, e);
    }
  }

  public static void writeAll(Path file, List<LeaseVersion> versions) throws IOException {
    try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (LeaseVersion version : versions) {
        out.write(version.toJson());
        out.write('\n');
      }
    }
  }

  /**
   * Reads a history back. An unparsable last line is dropped, as the recorder may have died mid-line; an unparsable
   * line anywhere else is a corrupt history and fails.
   */
  public static List<LeaseVersion> readAll(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<LeaseVersion> versions = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      try {
        versions.add(fromJson(lines.get(i)));
      } catch (UncheckedIOException e) {
        if (i < lines.size() - 1) {
          throw new IOException(file + " line " + (i + 1) + " is not a lease version", e);
        }
      }
    }
    return versions;
  }

  private static LeaseHolder copy(LeaseHolder holder) {
    LeaseHolder copy = new LeaseHolder();
    copy.domain = holder.domain;
    copy.uid = holder.uid;
    copy.node = holder.node;
    copy.mode = holder.mode;
    copy.epoch = holder.epoch;
    copy.grantedAt = holder.grantedAt;
    return copy;
  }
}
