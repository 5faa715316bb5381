/**
 * Transport test helpers: the two ends of a real Unix-socket connection in a temp
 * directory, frames built by hand, a peer that records every frame it reads, and a
 * count of the writes a socket hands to the kernel.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createConnection, createServer, type Socket } from "node:net";
import { decodeError, encodeError } from "../../src/serialization/index.js";
import type { ErrorCodec } from "../../src/transport/index.js";
import { FrameDecoder } from "../../src/transport/index.js";
import { within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

/** The CommonJS msgpackr instance, as the transport uses for envelopes (no value-codec extensions). */
export const envelope = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");

/** A session secret for endpoints made by tests (fresh per test process). */
export const testSecret: Buffer = randomBytes(32);

/** The error codec the runtime uses: typed errors come back as their class, with their `code`. */
export const errorCodec: ErrorCodec = { encode: encodeError, decode: decodeError };

const open = new Set<Socket>();

/** Both ends of a fresh Unix-socket connection; `destroyAll` ends them. */
export async function socketPair(): Promise<{ a: Socket; b: Socket }> {
  const path = tempPath("transport", "pair.sock");
  const server = createServer();
  await within(
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    }),
    5000,
    `listen on ${path}`,
  );
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const a = createConnection(path);
  open.add(a);
  await within(once(a, "connect"), 5000, `connect to ${path}`);
  const [b] = await within(accepted, 5000, `accept on ${path}`);
  open.add(b);
  server.close();
  return { a, b };
}

/** Destroy every socket made by socketPair. */
export function destroyAll(): void {
  for (const s of open) s.destroy();
  open.clear();
}

/** One frame: `[u32 LE length][body]`. */
export function frame(body: Uint8Array): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** A frame holding `batch` as the transport encodes it. */
export function batchFrame(batch: unknown[]): Buffer {
  return frame(envelope.pack(batch));
}

/** Reads `sock` as a raw peer: every frame it receives, decoded to its batch of messages. */
export function recordFrames(sock: Socket): unknown[][] {
  const frames: unknown[][] = [];
  const unpackr = new envelope.Unpackr({ useRecords: true, mapsAsObjects: true });
  const decoder = new FrameDecoder((body) => frames.push(unpackr.unpack(body) as unknown[]), 2 ** 32 - 1);
  sock.on("data", (chunk: Buffer) => decoder.push(chunk));
  return frames;
}

/** Counts the writes `sock` hands to the kernel (stream `_write`/`_writev` calls). */
export function countWrites(sock: Socket): { readonly count: number } {
  type WriteFn = (...args: unknown[]) => unknown;
  const s = sock as unknown as { _write: WriteFn; _writev: WriteFn };
  const counter = { count: 0 };
  const write = s._write;
  const writev = s._writev;
  s._write = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    return write.apply(this, args);
  };
  s._writev = function (this: unknown, ...args: unknown[]) {
    counter.count++;
    return writev.apply(this, args);
  };
  return counter;
}
