/**
 * Where a ref or handle made with no scope finds the default core worker's: read off
 * the process's default core worker (runtime.ts sets it under this key). A leaf module
 * on purpose: refs and handles must not import the core worker's modules, which import
 * them (the types would form a cycle, see test/lint/import-cycles.test.ts).
 */

/** The globalThis key of the process's default core worker (shared by every copy of the package). */
export const DEFAULT_CORE_WORKER: unique symbol = Symbol.for("tsray.core-worker") as never;

/** The default core worker's scope, or undefined when none runs; callers know its shape. */
export function defaultScope(): unknown {
  return (globalThis as unknown as Record<symbol, { readonly scope?: unknown } | undefined>)[
    DEFAULT_CORE_WORKER
  ]?.scope;
}
