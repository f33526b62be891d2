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
    assertThatThrownBy(() -> decode(Assignment.MAGIC + "\0A=1\0")).hasMessageContaining("no end of environment");
    assertThatThrownBy(() -> decode(Assignment.MAGIC + "\0noequals\0\0x\0")).hasMessageContaining("not KEY=VALUE");
    assertThatThrownBy(() -> decode(Assignment.MAGIC + "\0\0")).hasMessageContaining("no arguments");
    assertThatThrownBy(() -> decode(Assignment.MAGIC + "\0\0x")).hasMessageContaining("cut short");
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

  private static Assignment decode(String text) throws Exception {
    return Assignment.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
  }
}
