package io.lockwarden.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AccessModeTest {
  @ParameterizedTest(name = "{0} with {1}: {2}")
  @CsvSource({
      "Exclusive, Exclusive, false",
      "Exclusive, Shared,    false",
      "Exclusive, ReadOnly,  false",
      "Shared,    Exclusive, false",
      "Shared,    Shared,    true",
      "Shared,    ReadOnly,  true",
      "ReadOnly,  Exclusive, false",
      "ReadOnly,  Shared,    true",
      "ReadOnly,  ReadOnly,  true",
  })
  void followsTheCompatibilityTable(AccessMode held, AccessMode requested, boolean compatible) {
    assertThat(requested.compatibleWith(held)).isEqualTo(compatible);
    assertThat(held.compatibleWith(requested)).as("symmetric").isEqualTo(compatible);
  }

  @org.junit.jupiter.api.Test
  void aMissingModeCountsAsExclusive() {
    assertThat(AccessMode.Shared.compatibleWith(null)).isFalse();
    assertThat(AccessMode.ReadOnly.compatibleWith(null)).isFalse();
  }
}
