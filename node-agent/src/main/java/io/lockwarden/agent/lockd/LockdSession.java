package io.lockwarden.agent.lockd;

import io.lockwarden.agent.lockd.LockdCall.CreateLockspace;
import io.lockwarden.agent.lockd.LockdCall.New;
import io.lockwarden.agent.lockd.LockdCall.Register;
import io.lockwarden.agent.lockd.LockdCall.Resource;
import io.lockwarden.agent.lockd.LockdCall.Restrict;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's state machine, answering each call in the order virtlockd 9.0 checks it: program and version, type
 * (anything but CALL is ignored, as virtlockd ignores it), status, procedure, payload, flags, RESTRICT, REGISTER, and
 * only then the service. Everything here runs on the connection's thread.
 */
final class LockdSession {
  private static final Logger log = LoggerFactory.getLogger(LockdSession.class);

  private final LockService service;
  private final PeerCredentials peer;
  private final String connection;
  /** The owner of the last successful REGISTER; virtlockd lets a connection register again. */
  private LockOwner owner;
  private boolean restricted;
  /** The owner this connection is the lifetime connection of, once a REGISTER named the peer's own pid. */
  private LockOwner lifetimeOwner;
  private boolean ended;

  LockdSession(LockService service, PeerCredentials peer, String connection) {
    this.service = service;
    this.peer = peer;
    this.connection = connection;
  }

  /** The reply to one message, or empty for a message virtlockd would not answer either. */
  Optional<LockdFrame> handle(LockdFrame frame) {
    LockdHeader header = frame.header();
    if (header.type() != LockdHeader.CALL) {
      log.warn("event=lockd-ignored conn={} peerPid={} {} reason=\"not a call\"", connection, peer.pid(), header);
      return Optional.empty();
    }
    if (!header.isLockd()) {
      return rejected(header, "Cannot find program " + header.program() + " version " + header.version());
    }
    if (header.status() != LockdHeader.OK) {
      return rejected(header, "Unexpected message status " + Integer.toUnsignedString(header.status()));
    }
    Optional<LockdProcedure> procedure = LockdProcedure.of(header.procedure());
    if (procedure.isEmpty()) {
      return rejected(header, "unknown procedure: " + header.procedure());
    }
    LockdCall call;
    try {
      call = LockdCall.decode(procedure.get(), frame.payload());
    } catch (XdrException e) {
      log.warn("event=lockd-undecodable conn={} peerPid={} proc={} error=\"{}\"", connection, peer.pid(),
          procedure.get(), e.getMessage());
      return rejected(header, "Unable to decode message payload");
    }
    long started = System.nanoTime();
    LockdErrorPayload error = dispatch(call);
    long millis = (System.nanoTime() - started) / 1_000_000;
    String fields = fields(call);
    if (error == null) {
      log.info("event=lockd-call conn={} peerPid={} proc={} serial={} {} result=ok ms={}", connection, peer.pid(),
          call.procedure(), Integer.toUnsignedString(header.serial()), fields, millis);
      return Optional.of(LockdFrame.ok(header));
    }
    log.warn("event=lockd-call conn={} peerPid={} proc={} serial={} {} result=refused code={} domain={} message={} "
        + "ms={}", connection, peer.pid(), call.procedure(), Integer.toUnsignedString(header.serial()), fields,
        error.code(), error.domain(), LockdCall.quote(error.message()), millis);
    return Optional.of(LockdFrame.error(header, error));
  }

  /**
   * The connection is gone. Tells the service, once, that a lifetime connection ended, unless the server closed it
   * itself: then the QEMU is still running and its locks stay.
   */
  void closed(boolean byServer) {
    if (lifetimeOwner == null || ended) {
      return;
    }
    ended = true;
    if (byServer) {
      log.warn("event=lockd-lifetime-abandoned conn={} owner={} pid={} note=the server closed, not QEMU; "
          + "its locks stay", connection, LockdCall.quote(lifetimeOwner.name()), lifetimeOwner.pid());
      return;
    }
    log.info("event=lockd-lifetime-ended conn={} owner={} uuid={} pid={}", connection,
        LockdCall.quote(lifetimeOwner.name()), lifetimeOwner.uuid(), lifetimeOwner.pid());
    try {
      service.lifetimeEnded(lifetimeOwner);
    } catch (RuntimeException e) {
      log.error("event=lockd-lifetime-ended-failed conn={} owner={} pid={} error=\"{}\"", connection,
          LockdCall.quote(lifetimeOwner.name()), lifetimeOwner.pid(), e.toString());
    }
  }

  /** Null when the call succeeded, else the error to send. */
  private LockdErrorPayload dispatch(LockdCall call) {
    if ((call.flags() & ~call.procedure().allowedFlags()) != 0) {
      return LockdErrorPayload.unsupportedFlags(call.procedure(), call.flags());
    }
    if (restricted) {
      return LockdErrorPayload.of(LockdError.OPERATION_DENIED, "lock manager connection has been restricted");
    }
    try {
      if (call instanceof Register register) {
        register(register.owner());
      } else if (call instanceof CreateLockspace create) {
        service.createLockspace(create.path());
      } else if (owner == null) {
        throw new LockdRefusal(LockdError.OPERATION_INVALID, "lock owner details have not been registered");
      } else if (call instanceof Restrict) {
        restricted = true;
      } else if (call instanceof New created && created.path().isEmpty()) {
        throw new LockdRefusal(LockdError.OPERATION_INVALID, "the default lockspace already exists");
      } else if (call instanceof Resource resource
          && resource.procedure() == LockdProcedure.ACQUIRE_RESOURCE) {
        service.acquire(owner, resource.lockspace(), resource.resource(), resource.shared(), resource.autocreate());
      } else if (call instanceof Resource resource && resource.procedure() == LockdProcedure.RELEASE_RESOURCE) {
        service.release(owner, resource.lockspace(), resource.resource());
      } else {
        // NEW, CREATE_RESOURCE, DELETE_RESOURCE: virtlockd makes lockspaces and files on this host; libvirt 9.0
        // never sends them, and a cluster-wide lock has no such file to make.
        throw new LockdRefusal(LockdError.OPERATION_UNSUPPORTED,
            call.procedure() + " is not served by lockwarden: lockspaces and resources are cluster objects");
      }
      return null;
    } catch (LockdRefusal refusal) {
      return LockdErrorPayload.of(refusal);
    } catch (RuntimeException e) {
      log.error("event=lockd-service-failed conn={} proc={} error=\"{}\"", connection, call.procedure(), e.toString(),
          e);
      return LockdErrorPayload.of(LockdError.INTERNAL_ERROR, e.getMessage() != null ? e.getMessage() : e.toString());
    }
  }

  private void register(LockOwner candidate) throws LockdRefusal {
    if (candidate.id() == 0) {
      throw new LockdRefusal(LockdError.OPERATION_INVALID,
          "lock owner details have not been registered: the owner id is 0");
    }
    if (lifetimeOwner != null && !lifetimeOwner.equals(candidate)) {
      // virtlockd would let it; lockwarden keeps "this connection's end is that QEMU's end" unambiguous.
      throw new LockdRefusal(LockdError.OPERATION_INVALID, "this is the lifetime connection of "
          + lifetimeOwner.name() + " (pid " + lifetimeOwner.pid() + "); it cannot speak for another owner");
    }
    boolean lifetime = candidate.pid() == peer.pid();
    service.register(candidate, lifetime);
    owner = candidate;
    if (lifetime) {
      lifetimeOwner = candidate;
    }
  }

  /** The log fields of a call: who it speaks for (REGISTER names that itself), then its arguments. */
  private String fields(LockdCall call) {
    String caller = owner == null ? "owner=none"
        : "owner=" + LockdCall.quote(owner.name()) + " uuid=" + owner.uuid() + " pid=" + owner.pid();
    String arguments = call.describe();
    if (call instanceof Register) {
      return arguments;
    }
    return arguments.isEmpty() ? caller : caller + " " + arguments;
  }

  private Optional<LockdFrame> rejected(LockdHeader header, String detail) {
    log.warn("event=lockd-rejected conn={} peerPid={} {} reason={}", connection, peer.pid(), header,
        LockdCall.quote(detail));
    return Optional.of(LockdFrame.error(header, LockdErrorPayload.of(LockdError.RPC, detail)));
  }
}
