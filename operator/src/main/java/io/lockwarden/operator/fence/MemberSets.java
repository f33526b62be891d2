package io.lockwarden.operator.fence;

import io.lockwarden.api.Members;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The member set rule (docs/safety.md, TIME-4, QUO-4): majorities must be counted over one set, so the operator
 * publishes one, and changes it only once every member of the current one has acknowledged it. Then any agent holds
 * either the current set or the previous one, and the operator counts its majority in both. Pure: the caller gives
 * the Leases it sees and the rounds they acknowledge.
 */
final class MemberSets {
  private MemberSets() {}

  /**
   * What {@code lockwarden-timing} says: {@code members}, {@code membersSince} (null: nothing published yet) and
   * {@code previousMembers}.
   */
  record Published(Members members, Long since, Members previous) {
    static final Published NONE = new Published(Members.NONE, null, Members.NONE);

    boolean isPublished() {
      return since != null;
    }
  }

  /**
   * The set to publish with the write of {@code round}.
   *
   * <ul>
   *   <li>Nothing published yet: the observed set, at once.
   *   <li>The same nodes: the observed addresses (an address is not a membership); the previous set is dropped once
   *       every member has acknowledged the current one.
   *   <li>Other nodes: only once no member of the published set {@linkplain #blocking blocks} it; then the published
   *       set becomes the previous one and the observed set is current since {@code round}. Until then the published
   *       nodes stay, with the addresses now advertised.
   * </ul>
   *
   * @param observed every node with a {@code lockwarden-node-} Lease now, with the address it advertises
   * @param acknowledged each node's latest observed round
   */
  static Published next(Published published, Members observed, Map<String, Long> acknowledged, long round) {
    if (!published.isPublished()) {
      return new Published(observed, round, Members.NONE);
    }
    if (observed.sameNodes(published.members())) {
      // Once every member has acknowledged the current set, no agent can still count over the previous one (an agent
      // counts only over a set it is in): the previous set is let go of, or a node that was alone in it could never
      // be fenced again.
      Members previous = published.previous().size() > 0 && blocking(published, observed, acknowledged).isEmpty()
          ? Members.NONE : published.previous();
      return new Published(observed, published.since(), previous);
    }
    if (blocking(published, observed, acknowledged).isEmpty()) {
      return new Published(observed, round, published.members());
    }
    Map<String, String> refreshed = new TreeMap<>(published.members().addresses());
    refreshed.replaceAll((node, address) -> observed.addresses().getOrDefault(node, address));
    return new Published(new Members(refreshed), published.since(), published.previous());
  }

  /**
   * The members of the published set that keep it from changing: those whose Lease is still there and whose latest
   * renewal acknowledges no round at or after {@code membersSince}. A silent member blocks until it comes back or its
   * Lease is deleted (liveness, not safety).
   */
  static Set<String> blocking(Published published, Members observed, Map<String, Long> acknowledged) {
    Set<String> silent = new TreeSet<>();
    for (String node : published.members().addresses().keySet()) {
      Long round = acknowledged.get(node);
      if (observed.contains(node) && (round == null || round < published.since())) {
        silent.add(node);
      }
    }
    return silent;
  }
}
