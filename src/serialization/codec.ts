import { addExtension, Packr } from "msgpackr";
import { SerializationError } from "../errors/index.js";

/**
 * The value codec: msgpack (msgpackr) in structured-clone mode, so everything
 * structured clone carries round-trips (typed arrays, Map, Set, Date, RegExp,
 * BigInt, undefined, cycles and shared references), plus extension types for
 * tsray's own classes (ObjectRef, ActorHandle, errors) and user classes
 * registered with registerSerializer.
 *
 * Values that cannot cross a process boundary (functions, symbols, promises,
 * weak collections) throw SerializationError at encode time, i.e. at the call site.
 */

/**
 * Extension type numbers (msgpack ext types). Part of the wire format: never renumber.
 * msgpackr itself uses 0x42 (BigInt beyond 64 bits), 0x62, 0x65, 0x69, 0x70, 0x73,
 * 0x74, 0x78 and 0xff: never take one of those.
 */
export const ExtType = {
  ObjectRef: 0x40,
  ActorHandle: 0x41,
  Error: 0x44,
  UserClass: 0x43,
} as const;

const packr = new Packr({
  structuredClone: true,
  moreTypes: true,
  useRecords: true,
  mapsAsObjects: false,
  writeFunction: ((fn: Function): never => {
    throw new SerializationError(
      `cannot serialize function ${fn.name ? `\`${fn.name}\`` : "(anonymous)"}: functions cannot be sent to another process; ` +
        "pass data instead, or define the function as a remote function and pass its result",
    );
  }) as () => never,
});

let collector: unknown[] | undefined;

/** While encoding, extension writers for ref-like classes report the refs they write here. */
export function noteContainedRef(ref: unknown): void {
  collector?.push(ref);
}

/**
 * Encode a value. When `refsOut` is given, every ObjectRef/ActorHandle written
 * (at any depth) is appended to it, so owners can track nested references.
 * Throws SerializationError naming what could not be encoded.
 */
export function encode(value: unknown, refsOut?: unknown[]): Uint8Array {
  const prev = collector;
  collector = refsOut;
  try {
    const out = packr.pack(value);
    // msgpackr keeps the last value's reference map (structured clone) until the next
    // pack: drop it now, or the value (and any ref/handle in it) stays reachable.
    if (typeof value === "object" && value !== null) packr.pack(null);
    return out;
  } catch (err) {
    if (err instanceof SerializationError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/Unknown type: symbol/.test(msg)) {
      throw new SerializationError("cannot serialize a symbol: symbols cannot be sent to another process");
    }
    throw new SerializationError(`cannot serialize value: ${msg}`, { cause: err });
  } finally {
    collector = prev;
  }
}

/** Decode plain msgpack bytes (no blob handling; see decode in index.ts). */
export function unpackRaw(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Install a msgpack extension with raw-bytes pack/unpack (typed arrays with out-of-band support). */
export function addExtensionRaw<T>(
  Class: abstract new (...args: never[]) => T,
  type: number,
  pack: (value: T) => Uint8Array,
  unpack: (data: Uint8Array) => unknown,
): void {
  addExtension({
    Class: Class as unknown as new (...args: unknown[]) => unknown,
    type,
    pack: pack as (v: unknown) => Buffer,
    unpack: unpack as (data: Buffer) => unknown,
  });
}

/** Install a msgpack extension for a class (internal: ObjectRef, ActorHandle, errors, user classes). */
export function installExtension<T>(
  Class: abstract new (...args: never[]) => T,
  type: number,
  write: (value: T) => unknown,
  read: (data: unknown) => unknown,
): void {
  addExtension({
    Class: Class as unknown as new (...args: unknown[]) => unknown,
    type,
    write: write as (v: unknown) => unknown,
    read,
  });
}

function refuse(what: string): (v: unknown) => never {
  return () => {
    throw new SerializationError(`cannot serialize ${what}: it cannot be sent to another process`);
  };
}
const NEVER = 0x4f;
for (const [Class, what] of [
  [Promise, "a Promise (await it first and pass its value)"],
  [WeakMap, "a WeakMap"],
  [WeakSet, "a WeakSet"],
  [WeakRef, "a WeakRef"],
] as const) {
  installExtension(Class as unknown as new () => unknown, NEVER, refuse(what), () => undefined);
}
