package io.lockwarden.agent.supervisor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The spare supervisor's assignment, as the agent writes it and the spare reads it. */
class AssignmentTest {
  @Test
  void roundTripsEnvironmentAndArgumentsWithSpacesNewlinesEqualsAndEmptyOnes() throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("A", "one two");
    env.put("MULTI", "line 1\nline 2");
    env.put("EQ", "a=b=c");
    env.put("EMPTY", "");
    List<String> args = List.of("--domain", "ns/vm", "--", "sh", "-c", "echo \"$A\"", "");
    Assignment read = Assignment.read(new ByteArrayInputStream(new Assignment(env, args).encode()));
    assertThat(read.environment()).containsExactlyEntriesOf(env);
    assertThat(read.args()).isEqualTo(args);
  }

  @Test
  void anEmptyEnvironmentIsFine() throws Exception {
    Assignment read = Assignment.read(new ByteArrayInputStream(new Assignment(Map.of(), List.of("x")).encode()));
    assertThat(read.environment()).isEmpty();
    assertThat(read.args()).containsExactly("x");
  }

  @Test
  void nothingAtAllMeansTheAgentWentAway() throws Exception {
    assertThat(Assignment.read(new ByteArrayInputStream(new byte[0]))).isNull();
  }

  @Test
  void garbageIsAProtocolErrorThatSaysWhat() {
    assertThatThrownBy(() -> decode("hello\0")).hasMessageContaining("not an assignment");
    assertThatThrownBy(() -> decode(Assignment.MAGIC + "\0x\0A=1\0")).hasMessageContaining("no length");
    assertThatThrownBy(() -> decode(framed("A=1\0"))).hasMessageContaining("no end of environment");
    assertThatThrownBy(() -> decode(framed("noequals\0\0x\0"))).hasMessageContaining("not KEY=VALUE");
    assertThatThrownBy(() -> decode(framed("\0"))).hasMessageContaining("no arguments");
    assertThatThrownBy(() -> decode(framed("\0x"))).hasMessageContaining("does not end with a NUL");
  }

  @Test
  void anAssignmentCutShortIsRefusedEvenWhereItEndsOnANul() throws Exception {
    // Its agent killed while writing: the part that arrived ends on a NUL and would parse, one argument short.
    byte[] whole = new Assignment(Map.of("A", "1"), List.of("--domain", "ns/vm", "--", "qemu", "--read-only")).encode();
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - "--read-only\0".length());
    assertThatThrownBy(() -> Assignment.read(new ByteArrayInputStream(cut))).hasMessageContaining("cut short");
  }

  @Test
  void anAssignmentTooBigForAPipeIsRefusedWhenEncodedSoTheAgentNeverBlocksWritingIt() {
    Map<String, String> env = Map.of("BIG", "x".repeat(Assignment.MAX_BYTES));
    assertThatThrownBy(() -> new Assignment(env, List.of("x")).encode()).hasMessageContaining("at most");
  }

  @Test
  void aNulCannotBeSmuggledIntoAValue() {
    assertThatThrownBy(() -> new Assignment(Map.of("A", "x\0B=y"), List.of("x")).encode())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NUL");
  }

  @Test
  void anEndlessStreamIsCutOffAtTheBound() {
    byte[] huge = new byte[Assignment.MAX_BYTES + 10];
    assertThatThrownBy(() -> Assignment.read(new ByteArrayInputStream(huge))).hasMessageContaining("longer than");
  }

  private static String framed(String body) {
    return Assignment.MAGIC + "\0" + body.getBytes(StandardCharsets.UTF_8).length + "\0" + body;
  }

  private static Assignment decode(String text) throws Exception {
    return Assignment.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
  }
}
