# The lockwarden operator. Build context: the repository root, after `mvn -DskipTests package`:
#   docker build -f helm/images/operator.Dockerfile -t REGISTRY/lockwarden/lockwarden-operator:0.1.0 .
# Not built or tested here (no container runtime, no registry): see helm/images/README.md.
FROM eclipse-temurin:17-jre
# target/lib is the operator's runtime class path (maven-dependency-plugin copy-dependencies, at package).
COPY operator/target/lib/ /opt/lockwarden/lib/
COPY operator/target/lockwarden-operator-*.jar /opt/lockwarden/
# Non-root, no shell needed; the chart also sets a read-only root file system and mounts /tmp.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["java", "-cp", "/opt/lockwarden/*:/opt/lockwarden/lib/*", "io.lockwarden.operator.OperatorMain"]
