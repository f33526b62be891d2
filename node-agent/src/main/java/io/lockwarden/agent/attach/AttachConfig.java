package io.lockwarden.agent.attach;

import java.time.Duration;
import java.util.Map;

/**
 * The lockd service's settings about libvirt domains, from the agent's environment (where it listens is the agent's
 * {@code lockdSocket}, {@code LOCKWARDEN_LOCKD_SOCKET}):
 * <ul>
 *   <li>{@code LOCKWARDEN_LIBVIRT_NAMESPACE}: where the SupervisedDomains of libvirt domains live ({@code default});
 *   <li>{@code LOCKWARDEN_LIBVIRT_DECLARED_ONLY}: {@code true} refuses libvirt domains nobody declared beforehand;
 *   <li>{@code LOCKWARDEN_LOCKD_TIMEOUT}: how long an acquire or release waits for the cluster (30 s).
 * </ul>
 */
public record AttachConfig(String namespace, boolean declaredOnly, Duration timeout) {
  public static AttachConfig from(Map<String, String> env) {
    return new AttachConfig(env.getOrDefault("LOCKWARDEN_LIBVIRT_NAMESPACE", "default"),
        Boolean.parseBoolean(env.getOrDefault("LOCKWARDEN_LIBVIRT_DECLARED_ONLY", "false")),
        io.lockwarden.api.Durations.parse("LOCKWARDEN_LOCKD_TIMEOUT", env.getOrDefault("LOCKWARDEN_LOCKD_TIMEOUT", "30s")));
  }
}
