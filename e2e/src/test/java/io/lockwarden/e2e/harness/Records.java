package io.lockwarden.e2e.harness;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

/** Checks on the demo workload's records, as they are on the disk. */
public final class Records {
  private Records() {}

  /** Never two writers: no record of the old grant comes after the first record of the new one. */
  public static void assertOldEpochNeverWritesAfterTheNew(List<String> records, long oldEpoch, long newEpoch) {
    int firstNew = -1;
    for (int i = 0; i < records.size(); i++) {
      if (firstNew < 0 && records.get(i).contains("\"epoch\":" + newEpoch + ",")) {
        firstNew = i;
      }
      if (firstNew >= 0) {
        assertThat(records.get(i)).as("record " + i + " after the new holder's first")
            .doesNotContain("\"epoch\":" + oldEpoch + ",");
      }
    }
  }
}
