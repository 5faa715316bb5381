/**
 * Value serialization for everything that crosses a process boundary: see
 * docs/design/serialization.md.
 */
import "./errors.js";
import { decodeValue } from "./blob.js";
import type { DecodeContext } from "./codec.js";
import { decodeError, encodeError } from "./errors.js";

export {
  BLOB_MAGIC,
  decodeValue,
  encodeValue,
  isBlob,
  OOB_MIN_BYTES,
  type StoreBlob,
  writeBlob,
} from "./blob.js";
export { classesSettled, type RegisterClassOptions, registerClass } from "./classes.js";
export {
  type DecodeContext,
  decodingContext,
  ExtType,
  encode,
  installExtension,
  noteContainedRef,
} from "./codec.js";
export { decodeError, encodeError } from "./errors.js";
export { registerSerializer, type Serializer } from "./registry.js";

/**
 * Decode bytes produced by `encode`/`encodeValue` (inline: out-of-band parts are copied).
 * `context`: the decoding core worker's scope, which refs and handles inside bind to.
 */
export function decode(bytes: Uint8Array, context?: DecodeContext): unknown {
  return decodeValue(bytes, false, undefined, context);
}

/** The ErrorCodec the transport uses for request failures. */
export const errorCodec = { encode: encodeError, decode: decodeError };

/**
 * Can `v` travel as itself in a message envelope (no value encoding)? Numbers other
 * than -0, strings up to 1 KiB, booleans and null: what msgpack carries exactly.
 */
export function isWirePrimitive(v: unknown): v is number | string | boolean | null {
  switch (typeof v) {
    case "number":
      return !Object.is(v, -0);
    case "string":
      return v.length <= 1024;
    case "boolean":
      return true;
    case "object":
      return v === null;
    default:
      return false;
  }
}
