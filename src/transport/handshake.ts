/**
 * The authentication handshake every connection runs before anything else
 * (docs/design/security.md): the acceptor sends `Challenge { v, nonce }`, the dialer
 * answers `Hello { from, address, v, nonce, proof }`, the acceptor checks the proof
 * and answers `Welcome { proof }` (or `Refused` and closes), and the dialer checks
 * that proof in turn. Both proofs are HMAC-SHA256 over both nonces with the session
 * secret as key, domain-separated, so the secret never travels, a proof cannot be
 * replayed on another connection, and neither side can be impersonated.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  AuthenticationError,
  ProtocolError,
  ProtocolVersionError,
  RayError,
  RuntimeUnavailableError,
} from "../errors/index.js";
import { type Hello, type Message, MSG_NAMES, Msg, PROTOCOL_VERSION } from "../protocol/index.js";
import type { Clock } from "../util/index.js";
import type { Connection } from "./connection.js";

/** Frames before the handshake completes may be at most this long (a Hello is ~200 bytes). */
export const PRE_AUTH_MAX_FRAME_BYTES = 64 * 1024;

const NONCE_BYTES = 32;
const HELLO_DOMAIN = Buffer.from("tsray-hello\0");
const WELCOME_DOMAIN = Buffer.from("tsray-welcome\0");

function hmac(secret: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac("sha256", secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The dialer's proof: binds both nonces and the identity it claims. */
function helloProof(secret: Uint8Array, acceptorNonce: Uint8Array, dialerNonce: Uint8Array, from: string) {
  return hmac(secret, HELLO_DOMAIN, acceptorNonce, dialerNonce, Buffer.from(from));
}

/** The acceptor's proof, in the other domain so a Hello proof can never pass as one. */
function welcomeProof(secret: Uint8Array, dialerNonce: Uint8Array, acceptorNonce: Uint8Array) {
  return hmac(secret, WELCOME_DOMAIN, dialerNonce, acceptorNonce);
}

function isBytes(v: unknown, n: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === n;
}

function proves(got: unknown, expected: Buffer): boolean {
  return isBytes(got, expected.length) && timingSafeEqual(got, expected);
}

function kindName(msg: unknown): string {
  const t = (msg as { t?: unknown } | null)?.t;
  return `kind ${String(t)}${typeof t === "number" && MSG_NAMES.has(t) ? ` (${MSG_NAMES.get(t)})` : ""}`;
}

/** The error a dialer rejects with for the acceptor's Refused. */
function refusedError(code: unknown, message: string): RayError {
  if (code === "AUTHENTICATION_FAILED") return new AuthenticationError(message);
  if (code === "PROTOCOL_VERSION_MISMATCH") return new ProtocolVersionError(message);
  return new ProtocolError(message);
}

/**
 * Run a handshake step by step on a guarded connection. `step` returns true once
 * the handshake succeeded; it throws to fail it. Rejects with the failure (the
 * connection is then closed: `refuse` tells the peer why first) or with the close
 * reason when the peer goes away, or when `timeoutMs` passes on `clock`.
 */
function guarded(
  conn: Connection,
  clock: Clock,
  timeoutMs: number,
  onTimeout: () => Error,
  step: (msg: Message) => boolean,
  refuse: boolean,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clock.clearTimer(timer);
      if (!err) {
        conn.open();
        resolve();
        return;
      }
      reject(err);
      if (refuse && !conn.isClosed && err instanceof RayError) {
        conn.refuse({ t: Msg.Refused, code: err.code, message: err.message }, err);
      } else conn.destroy(err);
    };
    const timer = clock.setTimeout(() => finish(onTimeout()), timeoutMs).unref();
    conn.onClose((err) => finish(err));
    conn.guard((msg) => {
      if (done) return;
      try {
        if (step(msg)) finish();
      } catch (err) {
        finish(err instanceof Error ? err : new ProtocolError(String(err)));
      }
    }, PRE_AUTH_MAX_FRAME_BYTES);
  });
}

/**
 * Acceptor side: challenge the peer, verify its Hello, prove ourselves. Resolves
 * with the peer's Hello once the connection is open; rejects (after answering
 * Refused and closing) for a wrong proof, another version, or anything but a Hello,
 * or when no Hello arrives within `timeoutMs` on `clock`.
 */
export async function acceptHandshake(
  conn: Connection,
  secret: Uint8Array,
  timeoutMs: number,
  clock: Clock,
): Promise<Hello> {
  const nonce = randomBytes(NONCE_BYTES);
  let hello: Hello | undefined;
  const done = guarded(
    conn,
    clock,
    timeoutMs,
    () => new ProtocolError(`no valid Hello within ${timeoutMs} ms (TSRAY_HANDSHAKE_TIMEOUT_MS)`),
    (msg) => {
      if (msg?.t !== Msg.Hello) throw new ProtocolError(`the first message was ${kindName(msg)}, not Hello`);
      if (msg.v !== PROTOCOL_VERSION) {
        throw new ProtocolVersionError(
          `protocol version mismatch: the peer speaks version ${String(msg.v ?? 1)}, ` +
            `this node speaks version ${PROTOCOL_VERSION}`,
        );
      }
      if (
        typeof msg.from !== "string" ||
        typeof msg.address !== "string" ||
        !isBytes(msg.nonce, NONCE_BYTES)
      ) {
        throw new ProtocolError("malformed Hello (from, address and a 32-byte nonce are required)");
      }
      if (!proves(msg.proof, helloProof(secret, nonce, msg.nonce, msg.from))) {
        throw new AuthenticationError(
          "the peer did not prove the session secret (wrong token): connection refused",
        );
      }
      hello = msg;
      // Known before the connection opens: messages behind the Hello in the same frame
      // are dispatched at once, and handlers identify the peer by these.
      conn.peerId = msg.from;
      conn.peerAddress = msg.address;
      conn.send({ t: Msg.Welcome, proof: welcomeProof(secret, msg.nonce, nonce) });
      return true;
    },
    true,
  );
  conn.send({ t: Msg.Challenge, v: PROTOCOL_VERSION, nonce });
  await done;
  return hello!;
}

/**
 * Dialer side: answer the acceptor's Challenge with our Hello and check its
 * Welcome. Resolves once the connection is open; rejects with ProtocolVersionError
 * naming both versions, AuthenticationError (we were refused, or the peer could not
 * prove the secret: not the real node), or RuntimeUnavailableError on a timeout
 * (`timeoutMs` on `clock`).
 */
export function dialHandshake(
  conn: Connection,
  secret: Uint8Array,
  timeoutMs: number,
  clock: Clock,
  self: { from: string; address: string },
  address: string,
): Promise<void> {
  const nonce = randomBytes(NONCE_BYTES);
  let challenge: Uint8Array | undefined;
  return guarded(
    conn,
    clock,
    timeoutMs,
    () =>
      new RuntimeUnavailableError(
        `no handshake from ${address} within ${timeoutMs} ms (TSRAY_HANDSHAKE_TIMEOUT_MS): ` +
          "the process there is hung, or is not a tsray node of this version",
      ),
    (msg) => {
      if (msg?.t === Msg.Refused) {
        throw refusedError(msg.code, `the node at ${address} refused the connection: ${String(msg.message)}`);
      }
      if (challenge === undefined) {
        if (msg?.t !== Msg.Challenge) {
          throw new ProtocolError(
            `the node at ${address} did not open with a Challenge (got ${kindName(msg)})`,
          );
        }
        if (msg.v !== PROTOCOL_VERSION) {
          throw new ProtocolVersionError(
            `protocol version mismatch: this process speaks version ${PROTOCOL_VERSION}, ` +
              `the node at ${address} speaks version ${String(msg.v)}`,
          );
        }
        if (!isBytes(msg.nonce, NONCE_BYTES)) throw new ProtocolError(`malformed Challenge from ${address}`);
        challenge = msg.nonce;
        const proof = helloProof(secret, challenge, nonce, self.from);
        conn.send({
          t: Msg.Hello,
          from: self.from,
          address: self.address,
          v: PROTOCOL_VERSION,
          nonce,
          proof,
        });
        return false;
      }
      if (msg?.t !== Msg.Welcome)
        throw new ProtocolError(`expected Welcome from ${address}, got ${kindName(msg)}`);
      if (!proves(msg.proof, welcomeProof(secret, nonce, challenge))) {
        throw new AuthenticationError(
          `the process at ${address} did not prove the session secret: it is not this session's node`,
        );
      }
      return true;
    },
    false,
  );
}
