package io.lockwarden.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives a test class the shared {@link ControlPlane}: started by the first class that needs it, stopped when the
 * whole test run ends. Declare {@code @ExtendWith(ControlPlaneExtension.class)} and take a {@code ControlPlane}
 * parameter in a {@code @BeforeAll} or test method.
 */
public final class ControlPlaneExtension implements BeforeAllCallback, ParameterResolver {
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(ControlPlaneExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    shared(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == ControlPlane.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return shared(context);
  }

  private static ControlPlane shared(ExtensionContext context) {
    // The root store lives for the whole run and closes its AutoCloseable values at the end.
    return context.getRoot().getStore(NAMESPACE)
        .getOrComputeIfAbsent(ControlPlane.class, key -> ControlPlane.start(), ControlPlane.class);
  }
}
