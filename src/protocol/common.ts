/**
 * Shapes shared by every service: encoded values, task arguments, function
 * descriptors, and the Reply envelope that answers every request.
 */
import type { Msg } from "./kinds.js";

/** An error carried in a Reply: an encoded error value (src/serialization). */
export type EncodedError = Uint8Array;

/**
 * A value on the wire: encoded bytes, or (hot-path shortcut) a primitive that the
 * envelope carries as itself: a number other than -0, a string, a boolean, null.
 */
export type WireValue = Uint8Array | number | string | boolean | null;

/**
 * A top-level ref argument of a task, actor call or actor constructor: its index in
 * the argument list, object id, owner address, and the encoded value when the owner
 * had it inline (null: the worker reads it before running). `at` = [size, store name]
 * when the value sits sealed in the owner's node store: a worker on that node reads it
 * there at once, without asking the owner (the owner lends the object for the call).
 */
export type DepTuple = [
  index: number,
  id: string,
  owner: string,
  value: Uint8Array | null,
  at?: [number, string],
];

/** Identifies a remote function in a worker: a module URL plus a stable per-module key, or source text. */
export interface FunctionDescriptor {
  /** file:// URL of the defining module. */
  module: string;
  /** Stable per-module key: "#<n>" for the n-th remote() call in that module. */
  key: string;
  /** Name for messages (function or class name, else `<file>#<n>`). */
  name: string;
  /** The target's own `.name`, checked when a worker finds it ("" if anonymous). */
  fn: string;
  /** Source text, for definitions in the driver's entry module (shipped by value). */
  source?: string;
}

/**
 * Reply to a request. `err` set means the request failed with that (encoded)
 * error; otherwise `body` is the request's result.
 * Failure: lost only with its connection, which fails the pending request.
 */
export interface Reply {
  t: typeof Msg.Reply;
  rid: number;
  err?: EncodedError;
  body?: unknown;
}
