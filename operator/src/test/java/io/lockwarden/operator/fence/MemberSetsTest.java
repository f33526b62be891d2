package io.lockwarden.operator.fence;

import static org.assertj.core.api.Assertions.assertThat;

import io.lockwarden.api.Members;
import io.lockwarden.operator.fence.MemberSets.Published;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemberSetsTest {
  private static final Published ABC = new Published(Members.parse("a=1:1,b=2:1,c=3:1"), 10L, Members.NONE);

  @Test
  void theFirstSetIsPublishedAtOnce() {
    Published first = MemberSets.next(Published.NONE, Members.parse("a=1:1,b="), Map.of(), 4);

    assertThat(first).isEqualTo(new Published(Members.parse("a=1:1,b="), 4L, Members.NONE));
  }

  @Test
  void aNewSetReplacesTheCurrentOnceEveryMemberAcknowledgedIt() {
    Published next = MemberSets.next(ABC, Members.parse("a=1:1,b=2:1,c=3:1,d=4:1"),
        Map.of("a", 10L, "b", 12L, "c", 11L), 15);

    assertThat(next.members()).isEqualTo(Members.parse("a=1:1,b=2:1,c=3:1,d=4:1"));
    assertThat(next.since()).isEqualTo(15L);
    assertThat(next.previous()).isEqualTo(ABC.members());
  }

  @Test
  void thePreviousSetIsLetGoOfOnceEveryMemberAcknowledgedTheCurrentOne() {
    Published grown = new Published(Members.parse("a=1:1,b=2:1,c=3:1"), 10L, Members.parse("a=1:1"));
    Members same = Members.parse("a=1:1,b=2:1,c=3:1");

    assertThat(MemberSets.next(grown, same, Map.of("a", 10L, "b", 11L), 12).previous())
        .as("c has not learned the current set yet").isEqualTo(Members.parse("a=1:1"));
    assertThat(MemberSets.next(grown, same, Map.of("a", 10L, "b", 11L, "c", 10L), 12))
        .as("else a, alone in the previous set, could never be fenced")
        .isEqualTo(new Published(same, 10L, Members.NONE));
  }

  @Test
  void aSilentMemberBlocksAChangeUntilItAcknowledgesOrItsLeaseIsDeleted() {
    Members withD = Members.parse("a=1:1,b=2:1,c=3:1,d=4:1");
    Map<String, Long> cSilent = Map.of("a", 12L, "b", 12L, "c", 9L);

    Published blocked = MemberSets.next(ABC, withD, cSilent, 15);
    assertThat(blocked).as("c acknowledged only a round before membersSince").isEqualTo(ABC);
    assertThat(MemberSets.blocking(ABC, withD, cSilent)).containsExactly("c");
    assertThat(MemberSets.blocking(ABC, withD, Map.of("a", 12L, "b", 12L))).as("c never acknowledged")
        .containsExactly("c");

    // c's Lease is deleted (the node is gone, operations.md): it no longer blocks, and leaves the set.
    Members cGone = Members.parse("a=1:1,b=2:1,d=4:1");
    Published changed = MemberSets.next(ABC, cGone, cSilent, 16);
    assertThat(changed).isEqualTo(new Published(cGone, 16L, ABC.members()));

    // Or c comes back and acknowledges.
    assertThat(MemberSets.next(ABC, withD, Map.of("a", 12L, "b", 12L, "c", 13L), 17).members()).isEqualTo(withD);
  }

  @Test
  void aChangedAddressIsNoChangeOfTheSet() {
    Published moved = MemberSets.next(ABC, Members.parse("a=1:1,b=9:9,c=3:1"), Map.of(), 15);

    assertThat(moved).isEqualTo(new Published(Members.parse("a=1:1,b=9:9,c=3:1"), 10L, Members.NONE));
  }

  @Test
  void whileBlockedTheCurrentMembersStillShowTheirNewAddresses() {
    Published blocked = MemberSets.next(ABC, Members.parse("a=1:2,b=2:1,d=4:1"), Map.of("a", 10L), 15);

    assertThat(blocked.members()).as("b blocks; c keeps the address it had").isEqualTo(Members.parse("a=1:2,b=2:1,c=3:1"));
    assertThat(blocked.since()).isEqualTo(10L);
  }

  @Test
  void aRestartedOperatorContinuesThePublishedHistory() {
    // What a restarted operator reads back from lockwarden-timing: the set, its round and the previous set.
    Published read = new Published(Members.parse("a=,b=,c="), 40L, Members.parse("a=,b="));

    assertThat(MemberSets.next(read, Members.parse("a=,b=,c="), Map.of(), 90)).as("nothing to change").isEqualTo(read);
    Members withD = Members.parse("a=,b=,c=,d=");
    assertThat(MemberSets.next(read, withD, Map.of("a", 41L, "b", 40L, "c", 39L), 91))
        .as("c acknowledged nothing since 40: the set stays").isEqualTo(read);
    assertThat(MemberSets.next(read, withD, Map.of("a", 41L, "b", 40L, "c", 50L), 92))
        .isEqualTo(new Published(withD, 92L, Members.parse("a=,b=,c=")));
  }
}
