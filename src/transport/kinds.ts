/**
 * Which message kinds an authenticated connection carries: every kind of
 * PROTOCOL_VERSION except the handshake's. Checked per message with one typed-array
 * lookup, so the hot path pays no more than that.
 */
import { ProtocolError } from "../errors/index.js";
import { MSG_NAMES, Msg, PROTOCOL_VERSION } from "../protocol/index.js";

const HANDSHAKE_KINDS = new Set<number>([Msg.Hello, Msg.Challenge, Msg.Welcome, Msg.Refused]);
const SERVED = new Uint8Array(256);
for (const kind of Object.values(Msg)) if (!HANDSHAKE_KINDS.has(kind)) SERVED[kind] = 1;

/** True for a kind an open connection dispatches to its handler (Reply included). */
export function isServedKind(t: unknown): boolean {
  return typeof t === "number" && SERVED[t] === 1;
}

/** The error a peer gets for a message of kind `t` that this protocol version does not serve. */
export function unknownKindError(t: unknown): ProtocolError {
  const shown = typeof t === "number" ? String(t) : (JSON.stringify(t) ?? String(t));
  const name = typeof t === "number" ? MSG_NAMES.get(t) : undefined;
  const what =
    name !== undefined
      ? `message kind ${shown} (${name}), which is only valid in the handshake`
      : `unknown message kind ${shown} (protocol version ${PROTOCOL_VERSION} has no such kind)`;
  return new ProtocolError(what);
}

/** The error for a known kind sent to a service that does not serve it (e.g. PushTask to the head). */
export function notServed(service: string, t: unknown): ProtocolError {
  const name = typeof t === "number" ? MSG_NAMES.get(t) : undefined;
  if (name === undefined) return unknownKindError(t);
  return new ProtocolError(`${service} does not serve message kind ${String(t)} (${name})`);
}
