import { type Message, Msg } from "../protocol/index.js";

/** Payloads at least this large, at the very end of a frame, are written from where they lie. */
export const BULK_MIN_BYTES = 64 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * A reply whose body is only `{ d: bytes }` with large bytes (a StoreReadChunk answer,
 * a view of the object store's arena): the same message with `d` empty, and the
 * bytes. The connection packs the former, which then ends with the empty bin's two
 * bytes, and writes the bin's real header and the bytes after it: the peer reads the
 * very frame a plain pack would have made, without the sender copying the payload.
 */
export function splitBulk(m: Message): [Message, Uint8Array] | undefined {
  if (m.t !== Msg.Reply || m.err !== undefined) return undefined;
  const body = m.body as { d?: unknown } | undefined;
  if (typeof body !== "object" || body === null) return undefined;
  const d = body.d;
  if (!(d instanceof Uint8Array) || d.length < BULK_MIN_BYTES) return undefined;
  for (const k in body) if (k !== "d") return undefined;
  return [{ t: Msg.Reply, rid: m.rid, body: { d: EMPTY } }, d];
}

/**
 * The frame head for a packed frame (length prefix reserved) that ends with an empty
 * bin (`c4 00`), its payload to follow: the bin's header becomes `c6` + a 32-bit length,
 * and the length prefix counts the payload. Undefined if the frame does not end so.
 */
export function bulkHead(frame: Buffer, payload: number): Buffer | undefined {
  const n = frame.length;
  if (n < 6 || frame[n - 2] !== 0xc4 || frame[n - 1] !== 0x00) return undefined;
  const head = Buffer.allocUnsafe(n + 3);
  frame.copy(head, 0, 0, n - 2);
  head[n - 2] = 0xc6;
  head.writeUInt32BE(payload, n - 1);
  head.writeUInt32LE(head.length - 4 + payload, 0);
  return head;
}
