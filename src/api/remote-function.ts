import { defineRemoteTarget } from "../code-loading/index.js";
import { type ObjectRef, requireCoreWorker } from "../core-worker/index.js";
import type { FunctionDescriptor } from "../protocol/index.js";
import { type ResolvedTaskOptions, resolveTaskOptions, type TaskOptions } from "./task-options.js";

/** Any function (the constraint of remote functions; parameters are checked via Parameters<F>). */
export type AnyFunction = (...args: never[]) => unknown;

/** A value, or a ref to it: what a remote call accepts in each top-level argument position. */
export type RefOr<T> = T | ObjectRef<T>;

/** The argument list of `.remote()`: each top-level argument may be passed as an ObjectRef. */
export type RemoteArgs<P extends readonly unknown[]> = { [K in keyof P]: RefOr<P[K]> };

/** Refs for a function declared with numReturns > 1 (a tuple of refs when it returns a tuple). */
export type ReturnRefs<R> = R extends readonly unknown[]
  ? number extends R["length"]
    ? ObjectRef<R[number]>[]
    : { -readonly [K in keyof R]: ObjectRef<R[K]> }
  : ObjectRef<unknown>[];

/** A remote function returning one value. */
export interface RemoteFunction<F extends AnyFunction> {
  /** Run `fn(...args)` as a task; returns a ref to its result at once. Throws at the call site on bad arguments. */
  remote(...args: RemoteArgs<Parameters<F>>): ObjectRef<Awaited<ReturnType<F>>>;
  /** A copy of this remote function with some options overridden. */
  options<const O extends TaskOptions>(opts: O): OptionsResult<F, O>;
  /** Identity of the function in workers. */
  readonly descriptor: FunctionDescriptor;
}

/** A remote function declared with numReturns > 1. */
export interface MultiReturnRemoteFunction<F extends AnyFunction> {
  remote(...args: RemoteArgs<Parameters<F>>): ReturnRefs<Awaited<ReturnType<F>>>;
  options<const O extends TaskOptions>(opts: O): OptionsResult<F, O>;
  readonly descriptor: FunctionDescriptor;
}

/** What `.options(o)` returns: a multi-return function when o.numReturns is a literal > 1. */
export type OptionsResult<F extends AnyFunction, O> = O extends { numReturns: infer N }
  ? N extends 1
    ? RemoteFunction<F>
    : N extends number
      ? MultiReturnRemoteFunction<F>
      : RemoteFunction<F>
  : RemoteFunction<F>;

/** Build the callable remote-function object (calling it directly is an error, as in Ray). */
export function makeRemoteFunction<F extends AnyFunction>(
  fn: F,
  desc: FunctionDescriptor,
  resolved: ResolvedTaskOptions,
): RemoteFunction<F> {
  const taskDesc = desc;
  const rf = function remoteFunctionCalledDirectly(): never {
    throw new TypeError(
      `remote function ${desc.name} cannot be called directly; use ${desc.name}.remote(...args), ` +
        "which returns an ObjectRef, then ray.get(ref)",
    );
  };
  const remote = (...args: unknown[]) => {
    const cw = requireCoreWorker(`${desc.name}.remote()`);
    const refs = cw.submitTask(taskDesc, args, resolved.submit, resolved.name);
    return resolved.submit.numReturns === 1 ? refs[0] : refs;
  };
  const options = (opts: TaskOptions) => {
    const merged = resolveTaskOptions({ ...resolved.raw, ...opts }, `${desc.name}.options()`);
    return makeRemoteFunction(fn, desc, merged);
  };
  Object.defineProperty(rf, "name", { value: desc.name });
  Object.defineProperties(rf, {
    descriptor: { value: desc, enumerable: true },
    remote: { value: remote, enumerable: true },
    options: { value: options, enumerable: true },
  });
  return rf as unknown as RemoteFunction<F>;
}

/** Define a remote function from `fn` (see api/remote.ts for the public overloads). */
export function defineRemoteFunction<F extends AnyFunction>(fn: F, opts: TaskOptions): RemoteFunction<F> {
  const resolved = resolveTaskOptions(opts, "remote() options");
  const desc = defineRemoteTarget(fn, "function");
  return makeRemoteFunction(fn, desc, resolved);
}
