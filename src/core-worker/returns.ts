import type { WireValue } from "../protocol/index.js";
import { encodeValue, isWirePrimitive, type StoreBlob } from "../serialization/index.js";
import { refKey } from "./ref-key.js";

/** Encoded return values of a task or actor call, and the refs nested in them. */
export interface EncodedReturns {
  /** Encoded values, or wire primitives as themselves. */
  r: WireValue[];
  /** Returns too large to travel inline: [return index, blob] to write into the object store. */
  blobs: Array<[number, StoreBlob]> | undefined;
  /** [return index, id, owner] of every counted ref inside the values. */
  n: Array<[number, string, string]> | undefined;
}

/**
 * Encode what a task/method returned: one value, or exactly `nr` values when it
 * was declared with numReturns > 1. Throws TypeError (naming `what`) when the
 * shape is wrong, SerializationError when a value cannot be sent.
 */
export function encodeReturns(value: unknown, nr: number, what: string): EncodedReturns {
  const refs: unknown[] = [];
  let r: WireValue[];
  let n: Array<[number, string, string]> | undefined;
  let blobs: Array<[number, StoreBlob]> | undefined;
  const encode = (v: unknown, k: number): WireValue => {
    if (isWirePrimitive(v)) return v;
    const e = encodeValue(v, refs);
    if (e instanceof Uint8Array) return e;
    (blobs ??= []).push([k, e]);
    return EMPTY;
  };
  const collect = (k: number) => {
    for (const ref of refs) {
      const key = refKey(ref);
      if (key) (n ??= []).push([k, key[0], key[1]]);
    }
    refs.length = 0;
  };
  if (nr === 1) {
    r = [encode(value, 0)];
    if (refs.length > 0) collect(0);
  } else {
    if (!Array.isArray(value) || value.length !== nr) {
      throw new TypeError(
        `${what} was declared with numReturns: ${nr} but returned ` +
          `${Array.isArray(value) ? `an array of ${value.length}` : typeof value}; return an array of exactly ${nr} values`,
      );
    }
    r = value.map((v, k) => {
      const bytes = encode(v, k);
      if (refs.length > 0) collect(k);
      return bytes;
    });
  }
  return { r, n, blobs };
}

const EMPTY = new Uint8Array(0);
