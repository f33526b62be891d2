package io.lockwarden.e2e.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.testing.TestObjects;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseHistoryTest {
  @TempDir
  Path dir;

  @Test
  void concurrentAppendsAreWholeLines() throws Exception {
    Path file = dir.resolve("history.jsonl");
    try (LeaseHistory history = new LeaseHistory(file)) {
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        String name = "lease-" + t;
        Thread thread = new Thread(() -> IntStream.range(0, 200).forEach(i -> history.append(new LeaseVersion(name,
            String.valueOf(i), "/srv/" + name, i, List.of(LeaseVersionTest.holder("ns/d", "u", AccessMode.Shared,
                (long) i))))));
        threads.add(thread);
        thread.start();
      }
      for (Thread thread : threads) {
        thread.join();
      }
      assertThat(history.count()).isEqualTo(1600);
    }

    List<LeaseVersion> loaded = LeaseHistory.load(file);

    assertThat(loaded).hasSize(1600);
    // Each writer's versions in its own order: appends are never reordered or torn.
    assertThat(loaded.stream().filter(v -> v.name().equals("lease-3")).map(LeaseVersion::observedAtMillis))
        .isSorted().hasSize(200);
  }

  @Test
  void theHandlerRecordsNewVersionsOnly() throws Exception {
    Path file = dir.resolve("history.jsonl");
    DiskLease first = lease("1");
    DiskLease second = lease("2");
    try (LeaseHistory history = new LeaseHistory(file)) {
      history.handler().onAdd(first);
      history.handler().onUpdate(first, first); // a re-list repeating what was seen
      history.handler().onUpdate(first, second);
      history.handler().onDelete(second, false);
    }

    assertThat(LeaseHistory.load(file)).extracting(LeaseVersion::resourceVersion).containsExactly("1", "2");
  }

  @Test
  void aTornLastLineIsDroppedButATornMiddleFails() throws Exception {
    Path file = dir.resolve("history.jsonl");
    try (LeaseHistory history = new LeaseHistory(file)) {
      history.append(LeaseVersion.of(lease("1"), 1));
    }
    append(file, "{\"name\":\"a\",\"resourceVers");

    assertThat(LeaseHistory.load(file)).hasSize(1);

    append(file, "\n" + LeaseVersion.of(lease("2"), 2).toJson() + "\n");

    assertThatThrownBy(() -> LeaseHistory.load(file)).isInstanceOf(IOException.class).hasMessageContaining("line 2");
  }

  @Test
  void reopeningAppends() throws Exception {
    Path file = dir.resolve("history.jsonl");
    try (LeaseHistory history = new LeaseHistory(file)) {
      history.append(LeaseVersion.of(lease("1"), 1));
    }
    try (LeaseHistory history = new LeaseHistory(file)) {
      history.append(LeaseVersion.of(lease("2"), 2));
    }

    assertThat(LeaseHistory.load(file)).extracting(LeaseVersion::resourceVersion).containsExactly("1", "2");
  }

  private static DiskLease lease(String resourceVersion) {
    DiskLease lease = TestObjects.diskLease("a", "/srv/a.img");
    lease.getMetadata().setResourceVersion(resourceVersion);
    return lease;
  }

  private static void append(Path file, String text) throws IOException {
    Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }
}
