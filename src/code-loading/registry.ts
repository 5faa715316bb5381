import type { FunctionDescriptor } from "../protocol/index.js";
import { callerModuleUrl, isEntryModule } from "./caller.js";
import { freeVariables } from "./free-variables.js";
import { trackModule } from "./namespaces.js";

/**
 * Remote functions and classes are found in workers by the module that defined
 * them plus a stable per-module key: the n-th `remote()` call in that module. A
 * worker imports the module; the module's own top-level `remote()` calls then
 * register the same targets under the same keys. Definitions in the driver's entry
 * module are shipped by source instead (so the driver's top-level code never runs in
 * workers); they may use only their parameters and globals.
 *
 * The tables live on globalThis so that two copies of the tsray package in one
 * process still share them.
 */
interface Tables {
  byModule: Map<string, Map<string, Function>>;
  counters: Map<string, number>;
}
const KEY = Symbol.for("tsray.code-loading.tables");
const g = globalThis as unknown as Record<symbol, Tables | undefined>;
const tables: Tables = (g[KEY] ??= { byModule: new Map(), counters: new Map() });

const ALLOWED_FREE = new Set(["__name", "arguments", "undefined", "NaN", "Infinity", "globalThis"]);

/**
 * Describe a remote function/class being defined now by the caller's module and
 * register it locally. Throws TypeError when a definition in the entry module
 * captures variables of that module (it could not work in a worker).
 */
export function defineRemoteTarget(target: Function, kind: "function" | "class"): FunctionDescriptor {
  const module = callerModuleUrl();
  const n = tables.counters.get(module) ?? 0;
  tables.counters.set(module, n + 1);
  const key = `#${n}`;
  let m = tables.byModule.get(module);
  if (!m) tables.byModule.set(module, (m = new Map()));
  m.set(key, target);
  const file = module ? module.slice(module.lastIndexOf("/") + 1) : "<entry>";
  const desc: FunctionDescriptor = { module, key, name: target.name || `${file}${key}`, fn: target.name };
  if (isEntryModule(module)) {
    const source = target.toString();
    checkSelfContained(source, desc.name, kind, module);
    desc.source = source;
  } else {
    // Workers can import this module: classes it exports can travel by reference.
    trackModule(module);
  }
  return desc;
}

function checkSelfContained(source: string, name: string, kind: string, module: string): void {
  if (/\[native code\]/.test(source)) {
    throw new TypeError(
      `remote(): cannot use a built-in or bound ${kind} (${name}); wrap it in your own ${kind}`,
    );
  }
  let free: string[];
  try {
    free = freeVariables(source);
  } catch (err) {
    throw new TypeError(`remote(): cannot parse the source of ${kind} ${name}: ${String(err)}`);
  }
  const missing = free.filter((v) => !ALLOWED_FREE.has(v) && !(v in globalThis));
  if (missing.length > 0) {
    const where = module ? module.replace(/^file:\/\//, "") : "the driver's entry script";
    throw new TypeError(
      `remote(): ${kind} ${name} is defined in ${where}, the driver's entry script, so it is sent to workers as ` +
        `source and cannot use that file's variables or imports, but it uses: ${missing.join(", ")}. ` +
        "Move it into a module that the entry script imports (workers then import that module), " +
        "or use only parameters, globals and `await import(...)` inside it.",
    );
  }
}

/** The target registered under (module, key) in this process, if its module has been imported. */
export function lookupRegistered(module: string, key: string): Function | undefined {
  return tables.byModule.get(module)?.get(key);
}
