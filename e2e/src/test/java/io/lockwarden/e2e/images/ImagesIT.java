package io.lockwarden.e2e.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue #17: the operator and agent images, built without a container daemon. Jib writes each as an OCI tarball at
 * package (target/jib-image.tar) on the base helm/images/base.sh assembles from Debian's archive. This reads each
 * tarball as a registry or runtime would: the index, the manifest, the config and every layer. Then it runs the
 * image's own entrypoint from its own files, the way a runtime would lay them out (every layer unpacked in order, a
 * fresh PID and mount namespace with /proc, chroot, the image's user): each component starts, reads its
 * configuration and refuses a bad one with its own message, which shows the JRE, the class path and the main class
 * in the image work.
 */
class ImagesIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest
  @CsvSource({
      "operator,   lockwarden/lockwarden-operator, io.lockwarden.operator.OperatorMain, 65532:65532, 8080/tcp, "
          + "--image-check=1, unknown flags [image-check]",
      "node-agent, lockwarden/lockwarden-agent,    io.lockwarden.agent.AgentMain,       0:0,         8081/tcp, "
          + "--image-check=1, unknown flags [image-check]"})
  void theImageTarballHoldsTheComponentOnADebianJreAndItsEntrypointRuns(String module, String name, String main,
      String user, String port, String badFlag, String refusal) throws Exception {
    assumeFalse(Boolean.getBoolean("images.skip"), "images left out (-Dimages.skip=true)");
    Path tarball = Path.of("..", module, "target", "jib-image.tar").toAbsolutePath().normalize();
    assertThat(tarball).as("mvn package writes it (jib:buildTar)").exists();
    Path dir = Files.createDirectories(Path.of("target", "images", module).toAbsolutePath());
    run(List.of("rm", "-rf", dir.resolve("oci").toString(), dir.resolve("root").toString()));
    Path oci = Files.createDirectories(dir.resolve("oci"));
    run(List.of("tar", "-xf", tarball.toString(), "-C", oci.toString()));

    assertThat(JSON.readTree(oci.resolve("oci-layout").toFile()).path("imageLayoutVersion").asText()).isEqualTo("1.0.0");
    JsonNode index = JSON.readTree(oci.resolve("index.json").toFile());
    JsonNode entry = index.path("manifests").get(0);
    assertThat(entry.path("annotations").path("org.opencontainers.image.ref.name").asText())
        .isEqualTo(name + ":0.1.0-SNAPSHOT");
    JsonNode manifest = blob(oci, entry.path("digest").asText());
    assertThat(manifest.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.manifest.v1+json");

    JsonNode config = blob(oci, manifest.path("config").path("digest").asText());
    assertThat(config.path("architecture").asText()).isEqualTo("amd64");
    assertThat(config.path("os").asText()).isEqualTo("linux");
    List<String> entrypoint = new ArrayList<>();
    config.path("config").path("Entrypoint").forEach(e -> entrypoint.add(e.asText()));
    assertThat(entrypoint).containsExactly("java", "-cp", "@/app/jib-classpath-file", main);
    assertThat(config.path("config").path("User").asText()).isEqualTo(user);
    assertThat(config.path("config").path("ExposedPorts").has(port)).isTrue();

    // The layers, base first: Debian with its JRE, then the dependencies, the SNAPSHOT ones, the module's jar and
    // Jib's class-path file. Each is named by its digest, which the tarball's blob must match.
    List<List<String>> files = new ArrayList<>();
    for (JsonNode layer : manifest.path("layers")) {
      assertThat(layer.path("mediaType").asText()).isEqualTo("application/vnd.oci.image.layer.v1.tar+gzip");
      Path blob = blobFile(oci, layer.path("digest").asText());
      assertThat("sha256:" + run(List.of("sha256sum", blob.toString())).split(" ")[0])
          .isEqualTo(layer.path("digest").asText());
      files.add(run(List.of("tar", "-tzf", blob.toString())).lines().toList());
    }
    assertThat(files).hasSizeGreaterThanOrEqualTo(4);
    assertThat(files.get(0)).as("the base: Debian's JRE, and what the agent execs")
        .contains("./usr/lib/jvm/java-17-openjdk-amd64/bin/java", "./usr/bin/setpriv", "./usr/bin/setsid",
            "./usr/bin/renice");
    String jar = "app/classpath/lockwarden-" + (module.equals("node-agent") ? "node-agent" : "operator")
        + "-0.1.0-SNAPSHOT.jar";
    assertThat(files.stream().flatMap(List::stream))
        .anyMatch(f -> f.endsWith(jar)).anyMatch(f -> f.endsWith("app/libs/lockwarden-crds-0.1.0-SNAPSHOT.jar"))
        .anyMatch(f -> f.endsWith("app/libs/kubernetes-client-7.5.2.jar")).anyMatch(f -> f.endsWith("app/jib-classpath-file"));

    // Run it from its own files.
    Path root = Files.createDirectories(dir.resolve("root"));
    for (JsonNode layer : manifest.path("layers")) {
      run(List.of("tar", "-xzf", blobFile(oci, layer.path("digest").asText()).toString(), "-C", root.toString()));
    }
    List<String> command = new ArrayList<>(List.of("unshare", "--mount", "--pid", "--fork",
        "--mount-proc=" + root.resolve("proc"), "chroot", "--userspec=" + user, root.toString(),
        "/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    command.addAll(entrypoint);
    command.add(badFlag);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(out).isEqualTo(2);
    assertThat(out).contains(refusal);
    run(List.of("rm", "-rf", root.toString(), oci.toString()));
  }

  private static JsonNode blob(Path oci, String digest) throws IOException {
    return JSON.readTree(blobFile(oci, digest).toFile());
  }

  /** Where an OCI layout keeps the blob {@code sha256:<hex>}. */
  private static Path blobFile(Path oci, String digest) {
    assertThat(digest).startsWith("sha256:");
    return oci.resolve("blobs/sha256").resolve(digest.substring("sha256:".length()));
  }

  /** A command that must succeed: its standard output (tar's warnings about Jib's extended headers are dropped). */
  private static String run(List<String> command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as(String.join(" ", command)).isZero();
    return out;
  }
}
