import { RuntimeUnavailableError } from "../errors/index.js";
import type { CoreWorker } from "./core-worker.js";
import { DEFAULT_CORE_WORKER } from "./default-scope.js";
import { CoreWorkerScope } from "./scope.js";

/**
 * The process's default core worker: the one the top-level API uses where nothing
 * names one (`f.remote()`, `put`, `getRuntimeContext()`; refs and handles use their
 * own). Set by the process's entry points (init() in a driver, the worker's main).
 * Other core workers may run beside it. On globalThis so that every copy of the tsray
 * package loaded in this process (e.g. a user's node_modules copy and the worker's
 * own) uses the same default.
 */
const KEY = DEFAULT_CORE_WORKER;
const g = globalThis as unknown as Record<symbol, CoreWorker | undefined>;

/** The default core worker, or undefined before init()/after shutdown(). */
export function currentCoreWorker(): CoreWorker | undefined {
  return g[KEY];
}

/** The default core worker; throws a clear error when tsray is not initialized. */
export function requireCoreWorker(what: string): CoreWorker {
  const cw = g[KEY];
  if (!cw) {
    throw new RuntimeUnavailableError(`${what}: tsray is not initialized; call \`await ray.init()\` first`);
  }
  return cw;
}

/** Install (or clear) the process's default core worker. */
export function setCoreWorker(cw: CoreWorker | undefined): void {
  g[KEY] = cw;
}

/**
 * The core worker a ref or handle belongs to (its `scope`), while that one runs; else
 * the default instance (a ref made while none ran, or whose core worker has closed).
 * Throws as {@link requireCoreWorker} when there is neither.
 */
export function coreWorkerOf(scope: object | undefined | null, what: string): CoreWorker {
  // A scope's owner is always the CoreWorker that made it (core-worker.ts); the scope
  // cannot name the class without an import cycle.
  const owner = scope instanceof CoreWorkerScope ? (scope.worker as CoreWorker | undefined) : undefined;
  return owner ?? requireCoreWorker(what);
}
