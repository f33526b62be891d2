# The lockwarden node agent, and the supervisor it starts once per domain (same class path, same JRE).
# Build context: the repository root, after `mvn -DskipTests package`:
#   docker build -f helm/images/agent.Dockerfile -t REGISTRY/lockwarden/lockwarden-agent:0.1.0 .
# Not built or tested here (no container runtime, no registry): see helm/images/README.md.
FROM eclipse-temurin:17-jre
# setpriv (util-linux) starts each domain with its parent-death signal and, if configured, another uid/gid.
# It is part of the base image; the check fails the build if a base image ever drops it.
RUN command -v setpriv
COPY node-agent/target/lib/ /opt/lockwarden/lib/
COPY node-agent/target/lockwarden-node-agent-*.jar /opt/lockwarden/
# Runs as root with all but a few capabilities dropped (see the chart's values.yaml, agent.capabilities). The
# programs domains run (agent.allowedExecutables) must exist in this image, or be mounted into it by the chart.
EXPOSE 8081
ENTRYPOINT ["java", "-cp", "/opt/lockwarden/*:/opt/lockwarden/lib/*", "io.lockwarden.agent.AgentMain"]
