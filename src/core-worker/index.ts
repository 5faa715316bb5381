/** The per-process runtime: ownership, task submission and execution, get/put/wait. See docs/design/core-worker.md. */

export { ActorHandle, type HandleState, handleState } from "./actor-handle.js";
export { current, type RuntimeContext } from "./context.js";
export type { ActorCreateOptions } from "./core-worker.js";
export { CoreWorker, type CoreWorkerOptions, type SubmitOptions } from "./core-worker.js";
export { ObjectRef } from "./object-ref.js";
export { currentCoreWorker, requireCoreWorker, setCoreWorker } from "./runtime.js";
