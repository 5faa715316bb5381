import { RuntimeUnavailableError } from "../errors/index.js";
import type { CoreWorker } from "./core-worker.js";

/**
 * The process's one core worker, on globalThis so that every copy of the tsray
 * package loaded in this process (e.g. a user's node_modules copy and the worker's
 * own) drives the same runtime.
 */
const KEY = Symbol.for("tsray.core-worker");
const g = globalThis as unknown as Record<symbol, CoreWorker | undefined>;

/** The running core worker, or undefined before init()/after shutdown(). */
export function currentCoreWorker(): CoreWorker | undefined {
  return g[KEY];
}

/** The running core worker; throws a clear error when tsray is not initialized. */
export function requireCoreWorker(what: string): CoreWorker {
  const cw = g[KEY];
  if (!cw) {
    throw new RuntimeUnavailableError(`${what}: tsray is not initialized; call \`await ray.init()\` first`);
  }
  return cw;
}

/** Install (or clear) the process's core worker. */
export function setCoreWorker(cw: CoreWorker | undefined): void {
  g[KEY] = cw;
}
