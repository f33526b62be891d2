package io.lockwarden.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class LoaderEnvironmentTest {
  @Test
  void theCelRuleAndTheAgentsListNameTheSameVariables() {
    Matcher names = Pattern.compile("'([A-Z_]+)'").matcher(LoaderEnvironment.RULE.substring(
        LoaderEnvironment.RULE.indexOf('[')));
    Set<String> inRule = names.results().map(m -> m.group(1)).collect(Collectors.toSet());
    assertThat(inRule).isEqualTo(LoaderEnvironment.NAMES);
    assertThat(LoaderEnvironment.RULE).startsWith("!self.startsWith('LD_')");
  }

  @Test
  void refusesLoaderVariablesAndNothingElse() {
    assertThat(LoaderEnvironment.refused("LD_PRELOAD")).isTrue();
    assertThat(LoaderEnvironment.refused("LD_ANYTHING_NEW")).isTrue();
    assertThat(LoaderEnvironment.refused("GLIBC_TUNABLES")).isTrue();
    assertThat(LoaderEnvironment.refused("GREETING")).isFalse();
    assertThat(LoaderEnvironment.refused("JAVA_TOOL_OPTIONS")).as("reaches only the domain's own JVM, if any").isFalse();
  }
}
