import { ERROR_CLASSES, RayError, RayTaskError } from "../errors/index.js";
import { unpackRaw as decode, ExtType, encode, installExtension } from "./codec.js";
import { classForError, nameForErrorClass } from "./registry.js";

/**
 * Errors cross processes with their class, message, stack, cause and own fields.
 * tsray errors come back as the same class (by `code`); built-in and registered
 * error classes come back as themselves; unknown classes as Error with the original
 * `name`. A RayTaskError whose cause is of a known class is rebuilt so that it is
 * also `instanceof` that class.
 */

interface WireError {
  k: string; // class name
  c?: string; // RayError code
  m: string;
  s?: string;
  x?: unknown; // cause
  p?: Record<string, unknown>; // other own enumerable fields
}

const BUILTIN: Record<string, new (m?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};
const SKIP = new Set(["message", "stack", "cause", "name", "code"]);

function toWire(err: Error): WireError {
  const w: WireError = { k: nameForErrorClass(err), m: err.message };
  if (err instanceof RayError) w.c = err.code;
  if (err.stack) w.s = err.stack;
  if ("cause" in err && err.cause !== undefined) w.x = err.cause;
  const own = err as unknown as Record<string, unknown>;
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(err)) {
    if (SKIP.has(key) && !(key === "code" && !(err instanceof RayError))) continue;
    const v = own[key];
    if (typeof v === "function" || typeof v === "symbol") continue;
    props ??= {};
    props[key] = v;
  }
  if (props) w.p = props;
  return w;
}

function fromWire(w: WireError): Error {
  let err: Error;
  const RayClass = w.c ? ERROR_CLASSES.get(w.c) : undefined;
  if (RayClass) {
    err = new RayClass(w.m);
  } else {
    const Ctor = classForError(w.k) ?? BUILTIN[w.k];
    if (Ctor) {
      err = Object.create(Ctor.prototype) as Error;
      Object.defineProperty(err, "message", { value: w.m, writable: true, configurable: true });
    } else {
      err = new Error(w.m);
      if (w.k !== "Error")
        Object.defineProperty(err, "name", { value: w.k, writable: true, configurable: true });
    }
  }
  if (w.s !== undefined)
    Object.defineProperty(err, "stack", { value: w.s, writable: true, configurable: true });
  if (w.x !== undefined)
    Object.defineProperty(err, "cause", { value: w.x, writable: true, configurable: true });
  if (w.p) Object.assign(err, w.p);
  if (err instanceof RayTaskError) return RayTaskError.asUserClass(err);
  return err;
}

installExtension(
  Error,
  ExtType.Error,
  (err: Error) => toWire(err),
  (data) => fromWire(data as WireError),
);

/** Encode any thrown value as an error value (non-errors are wrapped in Error). */
export function encodeError(err: unknown): Uint8Array {
  return encode(err instanceof Error ? err : new Error(String(err)));
}

/** Decode an encoded error; always returns an Error. */
export function decodeError(bytes: Uint8Array): Error {
  const v = decode(bytes);
  return v instanceof Error ? v : new Error(String(v));
}
