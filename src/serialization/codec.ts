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
  ClassInstance: 0x46,
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

/**
 * Classes with an extension of their own (tsray's and registered ones), in every copy
 * of tsray in this process: the class-instance extension below leaves them alone even
 * when another copy's extension comes later in msgpackr's list.
 */
const EXT_CLASSES_KEY = Symbol.for("tsray.serialization.extension-classes");
const gx = globalThis as unknown as Record<symbol, WeakSet<Function> | undefined>;
const extensionClasses: WeakSet<Function> = (gx[EXT_CLASSES_KEY] ??= new WeakSet());

/** How instances of user classes are written and read (set by classes.ts). */
export interface InstanceCodec {
  write(value: object): unknown;
  read(data: unknown): unknown;
}
let instanceCodec: InstanceCodec | undefined;

/** Install the writer/reader of user class instances (classes.ts, once). */
export function setInstanceCodec(c: InstanceCodec): void {
  instanceCodec = c;
}

/**
 * True for an object of a class that no extension handles and that msgpackr would
 * otherwise write as a plain object, silently dropping its prototype. Only objects
 * whose constructor is not Object, Array or Map and that matched no extension
 * registered later get here, so plain values never pay for this check.
 */
function isClassInstance(v: unknown): boolean {
  if (typeof v !== "object" || v === null) return false;
  const proto: object | null = Object.getPrototypeOf(v);
  if (proto === null || proto === Object.prototype) return false;
  // A plain object from another realm (vm context): its prototype's prototype is null.
  if (
    Object.getPrototypeOf(proto) === null &&
    (proto as { constructor?: Function }).constructor?.name === "Object"
  )
    return false;
  if (
    Array.isArray(v) ||
    ArrayBuffer.isView(v) ||
    v instanceof Date ||
    v instanceof Set ||
    v instanceof Map ||
    v instanceof RegExp ||
    v instanceof ArrayBuffer ||
    v instanceof SharedArrayBuffer ||
    v instanceof Error ||
    v instanceof Boolean ||
    v instanceof Number ||
    v instanceof String
  )
    return false;
  // toJSON is the user's own choice of encoding (msgpackr then writes its result).
  if ((v as { toJSON?: unknown }).toJSON !== undefined) return false;
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const ctor = (p as { constructor?: unknown }).constructor;
    if (typeof ctor === "function" && extensionClasses.has(ctor)) return false;
  }
  return true;
}

/** A "class" whose `instanceof` is isClassInstance: the extension's match for user class instances. */
const ClassInstanceMatch = Object.defineProperty(function ClassInstanceMatch() {}, Symbol.hasInstance, {
  value: isClassInstance,
});

// Added before any other extension: msgpackr tries extensions newest first, so this
// one is tried only after all of tsray's and the user's, and before msgpackr's
// built-ins (Date, Set, RegExp, ...), which isClassInstance leaves to them.
addExtension({
  Class: ClassInstanceMatch as unknown as new (...args: unknown[]) => unknown,
  type: ExtType.ClassInstance,
  write: (v: object): unknown => {
    if (!instanceCodec) throw new SerializationError("class instances cannot be encoded yet");
    return instanceCodec.write(v);
  },
  read: (data: unknown): unknown => {
    if (!instanceCodec) throw new SerializationError("class instances cannot be decoded yet");
    return instanceCodec.read(data);
  },
});

/**
 * Instances decoded by the unpack in progress that carry a cycle probe: an own
 * enumerable `__proto__` accessor. msgpackr rebuilds a value that is part of a cycle
 * by copying the decoded object's fields into a plain placeholder (Object.assign);
 * the probe makes that copy set the placeholder's prototype too, so an instance in a
 * cycle keeps its class. unpackRaw removes the probes before returning.
 */
let probed: object[] | undefined;

/** Give a just-decoded instance a cycle probe that resolves to `proto` (see probed). */
export function addCycleProbe(x: object, proto: object): void {
  Object.defineProperty(x, "__proto__", { get: () => proto, enumerable: true, configurable: true });
  (probed ??= []).push(x);
}

function stripProbes(): void {
  if (probed) for (const x of probed) Reflect.deleteProperty(x, "__proto__");
}

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

/**
 * What the unpack in progress binds decoded refs and handles to: the decoding core
 * worker's scope (opaque here). A parameter of the decode call, kept for its
 * synchronous duration only, so it never outlives or crosses decodes.
 */
let decoding: DecodeContext | undefined;

/**
 * Opaque to serialization: what extension readers bind the values they make to (for
 * tsray's refs and handles, the scope of the core worker that decodes them).
 */
export type DecodeContext = object;

/** For extension readers: the context of the decode in progress, if its caller gave one. */
export function decodingContext(): DecodeContext | undefined {
  return decoding;
}

/**
 * Decode plain msgpack bytes (no blob handling; see decode in index.ts). `context`:
 * see {@link DecodeContext}; a nested decode without one keeps the outer one's.
 */
export function unpackRaw(bytes: Uint8Array, context?: DecodeContext): unknown {
  const prev = probed;
  const prevContext = decoding;
  probed = undefined;
  decoding = context ?? prevContext;
  try {
    return packr.unpack(bytes);
  } finally {
    stripProbes();
    probed = prev;
    decoding = prevContext;
  }
}

/** Install a msgpack extension with raw-bytes pack/unpack (typed arrays with out-of-band support). */
export function addExtensionRaw<T>(
  Class: abstract new (...args: never[]) => T,
  type: number,
  pack: (value: T) => Uint8Array,
  unpack: (data: Uint8Array) => unknown,
): void {
  extensionClasses.add(Class);
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
  extensionClasses.add(Class);
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
