package io.lockwarden.agent.lockspace;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class LockHoldersTest {
  private static final List<String> PROC_LOCKS = List.of(
      "1: OFDLCK ADVISORY  READ  -1 fd:01:777 0 0",
      "2: POSIX  ADVISORY  WRITE 4242 fd:01:1234567 0 0",
      "2: -> POSIX  ADVISORY  WRITE 99 fd:01:1234567 0 0",
      "3: POSIX  ADVISORY  WRITE 5151 fd:01:888 100 100");

  @Test
  void namesThePidHoldingByteZero() {
    assertThat(LockHolders.holderOf(1234567, PROC_LOCKS)).hasValue(4242);
  }

  @Test
  void ignoresOtherBytesUnknownPidsAndOtherFiles() {
    assertThat(LockHolders.holderOf(888, PROC_LOCKS)).isEmpty();
    assertThat(LockHolders.holderOf(777, PROC_LOCKS)).isEmpty();
    assertThat(LockHolders.holderOf(1, PROC_LOCKS)).isEmpty();
  }
}
