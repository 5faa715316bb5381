import { RemoteDefinitionError } from "../errors/index.js";
import type { FunctionDescriptor } from "../protocol/index.js";
import { importMark, importModule, settledSince } from "./namespaces.js";
import { lookupRegistered } from "./registry.js";

const bySource = new Map<string, Function>();

function nameHelper<F extends Function>(fn: F, name: string): F {
  return Object.defineProperty(fn, "name", { value: name, configurable: true });
}

/**
 * Resolve a descriptor to the function/class in this (worker) process: evaluate
 * shipped source, or import the defining module and take its registered target.
 * Throws RemoteDefinitionError saying what was expected and where when it cannot be found.
 */
export async function loadTarget(desc: FunctionDescriptor): Promise<Function> {
  if (desc.source !== undefined) {
    const cacheKey = `${desc.module}${desc.key}\n${desc.source}`;
    let fn = bySource.get(cacheKey);
    if (!fn) {
      // Shipped by source: globals only (checked at definition), plus esbuild's name helper.
      fn = new Function("__name", `"use strict"; return (${desc.source});`)(nameHelper) as Function;
      bySource.set(cacheKey, fn);
    }
    return fn;
  }
  let found = lookupRegistered(desc.module, desc.key);
  if (!found) {
    const mark = importMark();
    await importModule(desc.module);
    // The modules it imports that define remote targets are imported once more to keep
    // their namespaces (see namespaces.ts): wait for those too, so that the task can
    // return instances of their classes at once.
    await settledSince(mark);
    found = lookupRegistered(desc.module, desc.key);
  }
  if (!found) {
    throw new RemoteDefinitionError(
      `remote ${desc.name} (${desc.key}) was not registered when ${desc.module} was imported in the worker: ` +
        "define remote functions and actor classes at the top level of their module, " +
        "so that importing the module defines them in the same order in every process",
    );
  }
  if (found.name !== desc.fn) {
    throw new RemoteDefinitionError(
      `remote definitions in ${desc.module} differ between processes: expected ${desc.fn || "an anonymous function"} ` +
        `at ${desc.key}, found ${found.name || "an anonymous function"}; define them unconditionally at the module's top level`,
    );
  }
  return found;
}

/**
 * Synchronous lookup when the target is already loaded (hot path); undefined otherwise,
 * also when the key holds a differently named target (loadTarget then says why): a
 * module imported earlier must not run another function than the one asked for.
 */
export function loadedTarget(desc: FunctionDescriptor): Function | undefined {
  if (desc.source !== undefined) return bySource.get(`${desc.module}${desc.key}\n${desc.source}`);
  const found = lookupRegistered(desc.module, desc.key);
  return found !== undefined && found.name === desc.fn ? found : undefined;
}
