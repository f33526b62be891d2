package io.lockwarden.agent.lockd;

/** An XDR payload that cannot be decoded: truncated, a string too long, an optional that is neither 0 nor 1. */
final class XdrException extends Exception {
  private static final long serialVersionUID = 1L;

  XdrException(String message) {
    super(message);
  }
}
