package io.lockwarden.agent.attach;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The lockd service's settings, from the agent's environment:
 * <ul>
 *   <li>{@code LOCKWARDEN_LOCKD_SOCKET}: where libvirt's lockd plugin connects, {@code /run/libvirt/virtlockd-sock} by
 *       default (libvirt's fixed path for a privileged libvirtd); {@code none} turns the service off;
 *   <li>{@code LOCKWARDEN_LIBVIRT_NAMESPACE}: where the SupervisedDomains of libvirt domains live ({@code default});
 *   <li>{@code LOCKWARDEN_LIBVIRT_DECLARED_ONLY}: {@code true} refuses libvirt domains nobody declared beforehand;
 *   <li>{@code LOCKWARDEN_LOCKD_TIMEOUT}: how long an acquire or release waits for the cluster (30 s).
 * </ul>
 */
public record AttachConfig(Path socket, String namespace, boolean declaredOnly, Duration timeout) {
  public static final String DEFAULT_SOCKET = "/run/libvirt/virtlockd-sock";

  public static AttachConfig from(Map<String, String> env) {
    String socket = env.getOrDefault("LOCKWARDEN_LOCKD_SOCKET", DEFAULT_SOCKET);
    return new AttachConfig("none".equals(socket) ? null : Path.of(socket),
        env.getOrDefault("LOCKWARDEN_LIBVIRT_NAMESPACE", "default"),
        Boolean.parseBoolean(env.getOrDefault("LOCKWARDEN_LIBVIRT_DECLARED_ONLY", "false")),
        io.lockwarden.api.Durations.parse("LOCKWARDEN_LOCKD_TIMEOUT", env.getOrDefault("LOCKWARDEN_LOCKD_TIMEOUT", "30s")));
  }
}
