package io.lockwarden.api.v1alpha1;

import static io.lockwarden.testing.TestObjects.createNamespace;
import static io.lockwarden.testing.TestObjects.disk;
import static io.lockwarden.testing.TestObjects.domain;
import static io.lockwarden.testing.TestObjects.uniqueName;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.lockwarden.testing.ControlPlane;
import io.lockwarden.testing.ControlPlaneExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The real API server refuses every bad SupervisedDomain at admission, with a message a user understands. */
@ExtendWith(ControlPlaneExtension.class)
class SupervisedDomainValidationIT {
  private static KubernetesClient admin;
  private static String namespace;

  @BeforeAll
  static void connect(ControlPlane controlPlane) {
    admin = controlPlane.admin();
    namespace = createNamespace(admin, "validation");
  }

  @Test
  void acceptsAValidDomainAndFillsDefaults() {
    SupervisedDomain created = admin.resource(
        domain(namespace, uniqueName("ok"), "node-a", disk("/srv/vm.img", null))).create();

    SupervisedDomainSpec spec = created.getSpec();
    assertThat(spec.running).isTrue();
    assertThat(spec.restartPolicy).isEqualTo(RestartPolicy.Always);
    assertThat(spec.stopGracePeriodSeconds).isEqualTo(30L);
    assertThat(spec.onLeaseLoss).isEqualTo(LeaseLossAction.Pause);
    assertThat(spec.placement.failover).isEqualTo(FailoverPolicy.Automatic);
    assertThat(spec.disks.get(0).mode).isEqualTo(AccessMode.Exclusive);
  }

  @Test
  void acceptsAnAttachedDomainWithoutCommandOrPlacement() {
    SupervisedDomain domain = domain(namespace, uniqueName("libvirt"), "node-a");
    domain.getSpec().command = null;
    domain.getSpec().placement = null;
    domain.getSpec().attach = new AttachSpec();

    SupervisedDomain created = admin.resource(domain).create();

    assertThat(created.getSpec().attach).isNotNull();
    assertThat(created.getSpec().command).isNull();
  }

  static Stream<Arguments> badSpecs() {
    return Stream.of(
        bad("a relative disk path", s -> s.disks.get(0).path = "vm.img", "must be an absolute path"),
        bad("a .. segment in a disk path", s -> s.disks.get(0).path = "/srv/../vm.img", "no . or .. segments"),
        bad("a disk path listed twice", s -> s.disks.add(disk("/srv/vm.img", AccessMode.Shared)),
            "disk paths must be unique within spec.disks"),
        bad("a leaseName listed twice", s -> {
          s.disks = new ArrayList<>(List.of(byLease("images"), byLease("images")));
        }, "disk leaseNames must be unique within spec.disks"),
        bad("a disk with both path and leaseName", s -> s.disks.get(0).leaseName = "images",
            "each disk needs exactly one of path or leaseName"),
        bad("a disk with neither path nor leaseName", s -> s.disks.get(0).path = null,
            "each disk needs exactly one of path or leaseName"),
        bad("more than 64 disks", s -> {
          for (int i = 0; i < 64; i++) {
            s.disks.add(disk("/srv/extra-" + i + ".img", AccessMode.Shared));
          }
        }, "must have at most 64 items"),
        bad("a uuid that is not RFC 4122", s -> s.uuid = "not-a-uuid", "uuid must be an RFC 4122 UUID"),
        bad("a missing uuid", s -> s.uuid = null, "spec.uuid: Required value"),
        bad("an empty command", s -> s.command = new ArrayList<>(), "command must name the program to run"),
        bad("a missing command", s -> s.command = null,
            "a domain needs exactly one of command (lockwarden starts it) or attach (libvirt starts it)"),
        bad("both command and attach", s -> s.attach = new AttachSpec(),
            "a domain needs exactly one of command (lockwarden starts it) or attach (libvirt starts it)"),
        bad("an attached domain without placement or attach", s -> {
          s.command = null;
          s.placement = null;
        }, "placement is required unless attach is set"),
        bad("an attached domain migrated through the spec", s -> {
          s.command = null;
          s.attach = new AttachSpec();
          s.migration = new MigrationRequest();
          s.migration.targetNode = "node-b";
        }, "an attached domain migrates through libvirt"),
        bad("both nodeName and nodes", s -> s.placement.nodes = List.of("node-b"),
            "placement needs exactly one of nodeName or nodes"),
        bad("no node at all", s -> s.placement.nodeName = null, "placement needs exactly one of nodeName or nodes"),
        bad("a reserved env name", s -> s.env = List.of(new EnvVar("LOCKWARDEN_FENCING_TOKENS", "x")),
            "env names starting with LOCKWARDEN_ are set by the supervisor"),
        bad("LD_PRELOAD, which the root setpriv would load", s -> s.env = List.of(new EnvVar("LD_PRELOAD", "/tmp/x.so")),
            "configure the root program that starts the domain"),
        bad("GLIBC_TUNABLES", s -> s.env = List.of(new EnvVar("GLIBC_TUNABLES", "glibc.malloc.check=3")),
            "configure the root program that starts the domain"),
        bad("a negative grace period", s -> s.stopGracePeriodSeconds = -1L, "should be greater than or equal to 0"),
        bad("a parameter name that is no variable name", s -> s.parameters = Map.of("a-b", "1"),
            "parameter names may hold only letters, digits and _"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSpecs")
  void refusesBadSpecs(String description, Consumer<SupervisedDomainSpec> breakIt, String message) {
    SupervisedDomain domain = domain(namespace, uniqueName("bad"), "node-a", disk("/srv/vm.img", AccessMode.Exclusive));
    breakIt.accept(domain.getSpec());

    assertThatThrownBy(() -> admin.resource(domain).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422))
        .hasMessageContaining(message);
  }

  @Test
  void refusesAnUnknownDiskMode() {
    // The Java enum cannot hold a bad mode, so send raw JSON as kubectl would.
    Map<String, Object> raw = Serialization.jsonMapper().convertValue(
        domain(namespace, uniqueName("mode"), "node-a", disk("/srv/vm.img", AccessMode.Exclusive)), Map.class);
    @SuppressWarnings("unchecked")
    Map<String, Object> firstDisk = ((List<Map<String, Object>>) ((Map<String, Object>) raw.get("spec")).get("disks")).get(0);
    firstDisk.put("mode", "Sometimes");
    GenericKubernetesResource resource = Serialization.jsonMapper().convertValue(raw, GenericKubernetesResource.class);

    assertThatThrownBy(() -> admin.genericKubernetesResources("lockwarden.io/v1alpha1", "SupervisedDomain")
            .inNamespace(namespace).resource(resource).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(422))
        .hasMessageContaining("spec.disks[0].mode")
        .hasMessageContaining("Unsupported value: \"Sometimes\"");
  }

  private static Arguments bad(String description, Consumer<SupervisedDomainSpec> breakIt, String message) {
    return Arguments.of(description, breakIt, message);
  }

  private static DomainDisk byLease(String leaseName) {
    DomainDisk disk = new DomainDisk();
    disk.leaseName = leaseName;
    return disk;
  }
}
