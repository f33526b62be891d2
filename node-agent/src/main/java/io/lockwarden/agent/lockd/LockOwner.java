package io.lockwarden.agent.lockd;

import java.util.UUID;

/**
 * Who a lockd connection speaks for: REGISTER's arguments. Locks belong to the owner (its pid), never to a connection.
 *
 * @param uuid the domain's uuid (16 raw bytes on the wire)
 * @param name the domain's name
 * @param id the domain's id; libvirt sends a non-zero one, and a REGISTER with id 0 is refused as virtlockd refuses it
 * @param pid the QEMU process the locks are for (an XDR {@code unsigned int})
 */
public record LockOwner(UUID uuid, String name, long id, long pid) {}
