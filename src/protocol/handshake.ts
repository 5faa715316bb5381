/**
 * The handshake that authenticates every connection before anything else (see
 * docs/design/security.md). Its messages are sent and read by src/transport's
 * handshake only: no service serves them, so they are in no request map.
 */
import type { Msg } from "./kinds.js";

/**
 * Acceptor -> dialer, the first frame on every accepted connection: the acceptor's
 * protocol version and a fresh random nonce the dialer must prove the session
 * secret over.
 * Failure: a dialer that gets no Challenge within the handshake
 * timeout fails its connect (the peer is not a tsray node of this version).
 */
export interface Challenge {
  t: typeof Msg.Challenge;
  /** The acceptor's PROTOCOL_VERSION. */
  v: number;
  /** 32 random bytes, new per connection. */
  nonce: Uint8Array;
}

/**
 * Dialer -> acceptor, the answer to Challenge: who it is, where it listens (so the
 * acceptor can reuse this connection to reach it), and proof that it holds the
 * session secret: `proof = HMAC-SHA256(secret, "tsray-hello\0" | acceptor nonce |
 * dialer nonce | from)`. The secret itself never travels.
 * Failure: a wrong proof, a version mismatch or any other first message makes the
 * acceptor answer `Refused` and close; nothing else the peer sent is processed.
 * Sent once per connection; a dialer whose connection closed dials again.
 */
export interface Hello {
  t: typeof Msg.Hello;
  /** Worker id of the connecting process (drivers have one too). */
  from: string;
  /** The address the connecting process listens on ("" if none). */
  address: string;
  /** The dialer's PROTOCOL_VERSION (absent: a peer older than versioning, version 1). */
  v?: number;
  /** 32 random bytes of the dialer, new per connection (the acceptor's Welcome proves over it). */
  nonce?: Uint8Array;
  /** HMAC-SHA256 proof of the session secret (see above). */
  proof?: Uint8Array;
}

/**
 * Acceptor -> dialer after a valid Hello: the acceptor's own proof of the secret,
 * `HMAC-SHA256(secret, "tsray-welcome\0" | dialer nonce | acceptor nonce)`, so
 * the dialer knows it reached the real node (mutual authentication). Only after it
 * does either side send or process other messages.
 * Failure: a dialer that gets a wrong proof closes and fails its connect with
 * AuthenticationError.
 */
export interface Welcome {
  t: typeof Msg.Welcome;
  proof: Uint8Array;
}

/**
 * Acceptor -> dialer instead of Welcome: the handshake failed; the acceptor closes
 * right after. `code` is the error code the dialer's connect rejects with
 * (AUTHENTICATION_FAILED, PROTOCOL_VERSION_MISMATCH, PROTOCOL_ERROR), `message`
 * says why (never anything secret).
 * Failure: the dialer's connect rejects with that code whether or not this message
 * arrives before the close (a close alone fails it with RuntimeUnavailableError).
 */
export interface Refused {
  t: typeof Msg.Refused;
  code: string;
  message: string;
}

/** A message of the handshake (only valid before a connection is open). */
export type HandshakeMessage = Challenge | Hello | Welcome | Refused;
