import { type ActorClass, type ActorConstructor, type ActorOptions, defineActorClass } from "./actor.js";
import {
  type AnyFunction,
  defineRemoteFunction,
  type OptionsResult,
  type RemoteFunction,
} from "./remote-function.js";
import type { TaskOptions } from "./task-options.js";
import { show } from "./validate.js";

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/**
 * Make a function remote: `remote(fn)` or `remote(options, fn)`. Define remote
 * functions at the top level of a module: workers import that module to find them.
 * Definitions in the driver's entry script are sent as source and may use only
 * their parameters and globals (a TypeError at definition says otherwise).
 */
export function remote<C extends ActorConstructor>(cls: C): ActorClass<C>;
export function remote<C extends ActorConstructor>(options: ActorOptions, cls: C): ActorClass<C>;
export function remote<F extends AnyFunction>(fn: F): RemoteFunction<F>;
export function remote<F extends AnyFunction, const O extends TaskOptions>(
  options: O,
  fn: F,
): OptionsResult<F, O>;
export function remote(a: unknown, b?: unknown): unknown {
  const [opts, target] = b === undefined ? [{}, a] : [a, b];
  if (typeof target !== "function") {
    throw new TypeError(
      `remote() expects a function or a class${b === undefined ? "" : " as its second argument"}, got ${show(target)}`,
    );
  }
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(`remote(options, fn): options must be an object, got ${show(opts)}`);
  }
  if (isClass(target)) return defineActorClass(target as ActorConstructor, opts as ActorOptions);
  return defineRemoteFunction(target as AnyFunction, opts as TaskOptions);
}
