import { type CoreWorker, coreWorkerOf, ObjectRef, requireCoreWorker } from "../core-worker/index.js";
import { optTimeout, show } from "./validate.js";

/** Options of get(). */
export interface GetOptions {
  /** Milliseconds to wait before GetTimeoutError (default: forever). */
  timeout?: number;
}

function checkRef(ref: unknown, where: string): asserts ref is ObjectRef<unknown> {
  if (!(ref instanceof ObjectRef)) {
    throw new TypeError(`${where}: expected an ObjectRef, got ${show(ref)}`);
  }
  if (ref.isReleased) throw new TypeError(`${where}: ${ref} was released; a released ref cannot be read`);
}

/**
 * The one core worker that `refs` (checked, at least one) belong to: each ref is read
 * by the core worker that made or decoded it, not by the default instance.
 */
function workerOfAll(refs: readonly ObjectRef<unknown>[], where: string): CoreWorker {
  const first = refs[0]!.scope;
  const cw = coreWorkerOf(first, where);
  for (let i = 1; i < refs.length; i++) {
    const s = refs[i]!.scope;
    if (s !== first && coreWorkerOf(s, where) !== cw) {
      throw new TypeError(
        `${where}: element ${i} and element 0 belong to different core workers (two tsray runtimes in ` +
          "this process); pass each one's refs in a call of their own",
      );
    }
  }
  return cw;
}

/**
 * Read the value of a ref, or of an array of refs (results in input order).
 * Rejects with the task's error (RayTaskError, WorkerCrashedError, ...) if it
 * failed, or GetTimeoutError after `timeout` ms. Values are fresh copies.
 */
export function get<T>(ref: ObjectRef<T>, options?: GetOptions): Promise<T>;
export function get<const R extends readonly ObjectRef<unknown>[]>(
  refs: R,
  options?: GetOptions,
): Promise<{ -readonly [K in keyof R]: R[K] extends ObjectRef<infer T> ? T : never }>;
export function get<T>(refs: readonly ObjectRef<T>[], options?: GetOptions): Promise<T[]>;
export function get(refOrRefs: unknown, options: GetOptions = {}): Promise<unknown> {
  try {
    const timeout = optTimeout((options as GetOptions | undefined)?.timeout, "get()");
    if (Array.isArray(refOrRefs)) {
      if (refOrRefs.length === 0) return requireCoreWorker("get()").objects.get([], timeout);
      for (let i = 0; i < refOrRefs.length; i++) checkRef(refOrRefs[i], `get() element ${i}`);
      const refs = refOrRefs as ObjectRef<unknown>[];
      return workerOfAll(refs, "get()").objects.get(refs, timeout);
    }
    checkRef(refOrRefs, "get()");
    return coreWorkerOf(refOrRefs.scope, "get()")
      .objects.get([refOrRefs], timeout)
      .then((v) => v[0]);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Store a value in the cluster and return a ref to it; this process owns it.
 * The value is copied (later changes to it are not seen). Callers write
 * `await put(x)`: large values may be stored asynchronously. Throws
 * SerializationError at once for values that cannot be sent (functions, symbols).
 */
export function put<T>(value: T): ObjectRef<T> | Promise<ObjectRef<T>> {
  if (value instanceof ObjectRef) {
    throw new TypeError(
      "put(): the value is already an ObjectRef; pass the ref itself instead of putting it",
    );
  }
  const cw = requireCoreWorker("put()");
  return cw.objects.put(value) as ObjectRef<T>;
}

/** Options of wait(). */
export interface WaitOptions {
  /** How many refs must be ready (default 1, at most refs.length). */
  numReturns?: number;
  /** Milliseconds to wait at most; then returns what is ready. */
  timeout?: number;
}

/**
 * Wait until `numReturns` refs are ready or `timeout` passes. Returns
 * [ready, notReady], both in input order; ready has at most numReturns refs.
 */
export async function wait<R extends ObjectRef<unknown>>(
  refs: readonly R[],
  options: WaitOptions = {},
): Promise<[ready: R[], notReady: R[]]> {
  if (!Array.isArray(refs)) throw new TypeError(`wait(): expected an array of ObjectRefs, got ${show(refs)}`);
  for (let i = 0; i < refs.length; i++) checkRef(refs[i], `wait() element ${i}`);
  if (new Set(refs.map((r) => r.id)).size !== refs.length) {
    throw new TypeError("wait(): the refs must be distinct (the same object appears twice)");
  }
  const numReturns = options.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 1 || numReturns > Math.max(refs.length, 1)) {
    throw new TypeError(
      `wait(): numReturns must be an integer from 1 to ${refs.length} (the number of refs), got ${show(numReturns)}`,
    );
  }
  const timeout = optTimeout(options.timeout, "wait()");
  if (refs.length === 0) return [[], []];
  const cw = workerOfAll(refs as readonly ObjectRef<unknown>[], "wait()");
  return (await cw.objects.wait(refs as readonly ObjectRef<unknown>[], numReturns, timeout)) as [R[], R[]];
}

/**
 * Cancel the task that produces `ref`: a queued task fails at once with
 * TaskCancelledError; one already pushed to a worker is dropped there if it has not
 * started, else its result is discarded (JavaScript cannot interrupt running code);
 * `force: true` kills the worker running it. A finished task is not affected.
 * Call it in the process that submitted the task.
 */
export async function cancel(ref: ObjectRef<unknown>, options: { force?: boolean } = {}): Promise<void> {
  checkRef(ref, "cancel()");
  if (typeof options !== "object" || options === null)
    throw new TypeError(`cancel(): options must be an object, got ${show(options)}`);
  for (const k of Object.keys(options)) {
    if (k !== "force") throw new TypeError(`cancel(): unknown option "${k}"; valid options are: force`);
  }
  if (options.force !== undefined && typeof options.force !== "boolean") {
    throw new TypeError(`cancel(): force must be a boolean, got ${show(options.force)}`);
  }
  coreWorkerOf(ref.scope, "cancel()").cancel(ref, options.force === true);
}
