import { decode, encode } from "../serialization/index.js";
import type { ObjEntry } from "./object-table.js";

/** The empty payload of an entry whose value lives in the object store (shared: never written). */
export const EMPTY = new Uint8Array(0);

/** The value of a settled, not stored entry (a fresh copy unless it is a primitive), decoded in `scope`. */
export function inlineValue(e: ObjEntry, scope: object | undefined): unknown {
  return e.hasValue ? e.value : decode(e.data!, scope);
}

/**
 * The encoded bytes of a settled, not stored entry. Primitives are encoded on demand
 * and not kept: a held primitive costs no bytes (cheap to encode again).
 */
export function bytesOf(e: ObjEntry): Uint8Array {
  return e.hasValue || e.data === undefined ? encode(e.value) : e.data;
}
