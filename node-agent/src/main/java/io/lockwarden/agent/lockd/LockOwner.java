package io.lockwarden.agent.lockd;

/** Who a lockd connection speaks for: REGISTER's arguments. Locks belong to the owner (its pid), never to a connection. */
public record LockOwner(java.util.UUID uuid, String name, long id, long pid) {}
