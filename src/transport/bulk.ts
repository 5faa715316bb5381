import { type Message, Msg } from "../protocol/index.js";
import { BULK_MARK } from "./frame-decoder.js";

/** Payloads at least this large, at the very end of a frame, are written from where they lie. */
export const BULK_MIN_BYTES = 64 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * A reply whose body is only `{ d: bytes }` with large bytes (a StoreReadChunk answer,
 * a view of the object store's arena): the same message with `d` empty, and the
 * bytes. The connection packs the former as a bulk frame's head and writes the bytes
 * after it from where they lie (no copy); the receiver puts them back in `d`.
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
 * The prefix of a bulk frame for a packed batch (4 bytes reserved at its start) whose
 * last message's bytes were left empty, its `payload` bytes to follow:
 * `[u32 LE body length][0xc1][u32 LE head length][head][payload]`. The receiver
 * (FrameDecoder) can then stream the payload to where its request wants it.
 */
export function bulkHead(frame: Buffer, payload: number): Buffer {
  const headLen = frame.length - 4;
  const head = Buffer.allocUnsafe(9 + headLen);
  head.writeUInt32LE(5 + headLen + payload, 0);
  head[4] = BULK_MARK;
  head.writeUInt32LE(headLen, 5);
  frame.copy(head, 9, 4);
  return head;
}

/**
 * Put a bulk frame's payload back where its sender took it from: the last message
 * must be a reply whose body is `{ d }` (else the frame is malformed: TypeError).
 */
export function setBulk(batch: Message[], payload: Uint8Array): void {
  const last = batch[batch.length - 1];
  const body = last?.t === Msg.Reply ? (last.body as { d?: unknown } | undefined) : undefined;
  if (typeof body !== "object" || body === null || !(body.d instanceof Uint8Array))
    throw new TypeError("protocol error: a bulk frame whose last message is not a reply of bytes");
  body.d = payload;
}
