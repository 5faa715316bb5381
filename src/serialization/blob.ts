import { config } from "../config/index.js";
import { addExtensionRaw, type DecodeContext, encode, unpackRaw } from "./codec.js";

/**
 * Values with large binary parts. Typed arrays, Buffers and DataViews of at least
 * OOB_MIN_BYTES are kept *out of band*: the msgpack part (the "meta") holds a
 * placeholder, and the bytes follow it, 64-byte aligned, in one blob:
 *
 *   [0xc1][version][u16 0][u32 metaLength][u32 count] count x [f64 offset][f64 length] meta pad buffers
 *
 * 0xc1 is never the first byte of a msgpack value, so a blob and plain msgpack bytes
 * are told apart by their first byte. A blob in the shared-memory store is read in
 * place: each out-of-band array comes back as a view into the store (zero copies); an
 * inline blob (small enough to travel in a message) is copied on read.
 */

export const BLOB_MAGIC = 0xc1;
const HEADER = 12;
const ALIGN = 64;
/** Binary parts at least this large go out of band. */
export const OOB_MIN_BYTES = 16 * 1024;
const EXT_TYPED_ARRAY = 0x45;

type ViewCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayBufferView;
const KINDS: Array<[ViewCtor, number]> = [
  [Int8Array, 1],
  [Uint8Array, 1],
  [Uint8ClampedArray, 1],
  [Int16Array, 2],
  [Uint16Array, 2],
  [Int32Array, 4],
  [Uint32Array, 4],
  [Float32Array, 4],
  [Float64Array, 8],
  [BigInt64Array as unknown as ViewCtor, 8],
  [BigUint64Array as unknown as ViewCtor, 8],
];
const BUFFER_TAG = KINDS.length;
const DATAVIEW_TAG = KINDS.length + 1;

/** Out-of-band buffers of the value being encoded (set by encodeValue). */
let collecting: ArrayBufferView[] | undefined;

/** How the blob being decoded lends its out-of-band parts. */
interface ReadContext {
  blob: Uint8Array;
  table: Array<[number, number]>;
  zeroCopy: boolean;
  views: ArrayBufferView[];
}
let reading: ReadContext | undefined;

function tagOf(v: ArrayBufferView): number {
  if (Buffer.isBuffer(v)) return BUFFER_TAG;
  if (v instanceof DataView) return DATAVIEW_TAG;
  for (let i = 0; i < KINDS.length; i++) if (v.constructor === KINDS[i]![0]) return i;
  return 1;
}

function make(tag: number, buffer: ArrayBufferLike, offset: number, bytes: number): ArrayBufferView {
  if (tag === BUFFER_TAG) return Buffer.from(buffer as ArrayBuffer, offset, bytes);
  if (tag === DATAVIEW_TAG) return new DataView(buffer, offset, bytes);
  const [Ctor, size] = KINDS[tag]!;
  return new Ctor(buffer, offset, bytes / size);
}

function packView(v: ArrayBufferView): Uint8Array {
  const tag = tagOf(v);
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (collecting && v.byteLength >= OOB_MIN_BYTES) {
    const out = Buffer.allocUnsafe(6);
    out[0] = tag;
    out[1] = 1;
    out.writeUInt32LE(collecting.push(v) - 1, 2);
    return out;
  }
  const out = Buffer.allocUnsafe(2 + bytes.byteLength);
  out[0] = tag;
  out[1] = 0;
  out.set(bytes, 2);
  return out;
}

function unpackView(data: Uint8Array): ArrayBufferView {
  const tag = data[0]!;
  if (data[1] === 0) {
    const copy = new ArrayBuffer(data.byteLength - 2);
    new Uint8Array(copy).set(data.subarray(2));
    return make(tag, copy, 0, copy.byteLength);
  }
  const ctx = reading;
  if (!ctx) throw new TypeError("out-of-band array outside of a blob");
  const index = new DataView(data.buffer, data.byteOffset + 2, 4).getUint32(0, true);
  const [offset, length] = ctx.table[index]!;
  if (ctx.zeroCopy) {
    const view = make(tag, ctx.blob.buffer, ctx.blob.byteOffset + offset, length);
    ctx.views.push(view);
    return view;
  }
  const copy = new ArrayBuffer(length);
  new Uint8Array(copy).set(ctx.blob.subarray(offset, offset + length));
  return make(tag, copy, 0, length);
}

// Register the most specific classes last: msgpackr checks extensions newest first.
for (const [Ctor] of KINDS) addExtensionRaw(Ctor, EXT_TYPED_ARRAY, packView, unpackView);
addExtensionRaw(DataView as unknown as ViewCtor, EXT_TYPED_ARRAY, packView, unpackView);
addExtensionRaw(Buffer as unknown as ViewCtor, EXT_TYPED_ARRAY, packView, unpackView);

/** A value encoded for the object store: write it with writeBlob into `size` bytes. */
export interface StoreBlob {
  readonly meta: Uint8Array;
  readonly buffers: ArrayBufferView[];
  readonly offsets: number[];
  readonly size: number;
}

function layout(meta: Uint8Array, buffers: ArrayBufferView[]): StoreBlob {
  let at = HEADER + buffers.length * 16 + meta.byteLength;
  const offsets: number[] = [];
  for (const b of buffers) {
    at = Math.ceil(at / ALIGN) * ALIGN;
    offsets.push(at);
    at += b.byteLength;
  }
  return { meta, buffers, offsets, size: at };
}

/** Write an encoded value into `target` (exactly `blob.size` bytes). One copy of each buffer. */
export function writeBlob(target: Uint8Array, blob: StoreBlob): void {
  const dv = new DataView(target.buffer, target.byteOffset, target.byteLength);
  target[0] = BLOB_MAGIC;
  target[1] = 1;
  dv.setUint16(2, 0, true);
  dv.setUint32(4, blob.meta.byteLength, true);
  dv.setUint32(8, blob.buffers.length, true);
  let at = HEADER;
  blob.buffers.forEach((b, i) => {
    dv.setFloat64(at, blob.offsets[i]!, true);
    dv.setFloat64(at + 8, b.byteLength, true);
    at += 16;
  });
  target.set(blob.meta, at);
  blob.buffers.forEach((b, i) => {
    target.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), blob.offsets[i]!);
  });
}

/**
 * Encode a value that may be large. Small values come back as bytes (plain msgpack,
 * or an inline blob when they hold big arrays); values above the inline threshold
 * come back as a StoreBlob to be written into the object store.
 */
export function encodeValue(value: unknown, refsOut?: unknown[]): Uint8Array | StoreBlob {
  const prev = collecting;
  const buffers: ArrayBufferView[] = [];
  collecting = buffers;
  let meta: Uint8Array;
  try {
    meta = encode(value, refsOut);
  } finally {
    collecting = prev;
  }
  const threshold = config().inlineThresholdBytes;
  if (buffers.length === 0 && meta.byteLength <= threshold) return meta;
  const blob = layout(meta, buffers);
  if (blob.size > threshold) return blob;
  const bytes = new Uint8Array(blob.size);
  writeBlob(bytes, blob);
  return bytes;
}

/** True for bytes that are a blob (not plain msgpack). */
export function isBlob(bytes: Uint8Array): boolean {
  return bytes.byteLength > 0 && bytes[0] === BLOB_MAGIC;
}

/**
 * Decode bytes from encode/encodeValue/writeBlob. With `zeroCopy` (a blob read in
 * place from the store), out-of-band arrays are views into `bytes` and are also
 * pushed to `views` (the caller keeps the object pinned while they live). `context`:
 * what refs and handles inside bind to (see DecodeContext).
 */
export function decodeValue(
  bytes: Uint8Array,
  zeroCopy = false,
  views?: ArrayBufferView[],
  context?: DecodeContext,
): unknown {
  if (!isBlob(bytes)) return unpackRaw(bytes, context);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const metaLength = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  const table: Array<[number, number]> = [];
  for (let i = 0, at = HEADER; i < count; i++, at += 16)
    table.push([dv.getFloat64(at, true), dv.getFloat64(at + 8, true)]);
  const metaStart = HEADER + count * 16;
  const prev = reading;
  reading = { blob: bytes, table, zeroCopy, views: views ?? [] };
  try {
    return unpackRaw(bytes.subarray(metaStart, metaStart + metaLength), context);
  } finally {
    reading = prev;
  }
}
