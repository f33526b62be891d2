package io.lockwarden.e2e.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.v1alpha1.AccessMode;
import io.lockwarden.api.v1alpha1.DiskLease;
import io.lockwarden.api.v1alpha1.DiskLeaseStatus;
import io.lockwarden.api.v1alpha1.LeaseHolder;
import io.lockwarden.testing.TestObjects;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseVersionTest {
  @TempDir
  Path dir;

  @Test
  void aLeaseWithoutStatusHasNoHolders() {
    DiskLease lease = TestObjects.diskLease("a", "/srv/a.img");
    lease.getMetadata().setResourceVersion("7");

    LeaseVersion version = LeaseVersion.of(lease, 1000);

    assertThat(version).isEqualTo(new LeaseVersion("a", "7", "/srv/a.img", 1000, List.of()));
  }

  @Test
  void holdersAreASnapshot() {
    DiskLease lease = TestObjects.diskLease("a", "/srv/a.img");
    lease.setStatus(new DiskLeaseStatus());
    lease.getStatus().holders.add(holder("ns/d", "u1", AccessMode.Exclusive, 3L));

    LeaseVersion version = LeaseVersion.of(lease, 1000);
    lease.getStatus().holders.get(0).epoch = 4L;

    assertThat(version.holders()).singleElement().satisfies(h -> assertThat(h.epoch).isEqualTo(3L));
  }

  @Test
  void aHistoryRoundTripsThroughJsonLines() throws Exception {
    List<LeaseVersion> history = List.of(new LeaseVersion("a", "1", "/srv/a.img", 10, List.of()),
        new LeaseVersion("a", "2", "/srv/a.img", 20, List.of(holder("ns/d", "u1", AccessMode.Shared, 1L),
            holder("ns/e", "u2", AccessMode.ReadOnly, 2L))));
    Path file = dir.resolve("history.jsonl");

    LeaseVersion.writeAll(file, history);

    assertThat(LeaseVersion.readAll(file)).usingRecursiveFieldByFieldElementComparator().isEqualTo(history);
  }

  static LeaseHolder holder(String domain, String uid, AccessMode mode, Long epoch) {
    LeaseHolder holder = new LeaseHolder();
    holder.domain = domain;
    holder.uid = uid;
    holder.node = "node-" + uid;
    holder.mode = mode;
    holder.epoch = epoch;
    return holder;
  }
}
