package io.lockwarden.agent.lockd;

/** SO_PEERCRED of a connection: who was at the other end when it connected. */
public record PeerCredentials(long pid, int uid, int gid) {}
