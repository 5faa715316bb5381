/** The runtime of a driver or worker: ownership, task submission and execution, get/put/wait. See docs/design/core-worker.md. */

export { ActorHandle, type HandleState, handleScope, handleState } from "./actor-handle.js";
export type { RuntimeContext, TaskContext } from "./context.js";
export type { ActorCreateOptions } from "./core-worker.js";
export { CoreWorker, type CoreWorkerOptions, type SubmitOptions } from "./core-worker.js";
export { ObjectRef } from "./object-ref.js";
export { coreWorkerOf, currentCoreWorker, requireCoreWorker, setCoreWorker } from "./runtime.js";
export type { CoreWorkerScope } from "./scope.js";
export type { SubmitterShapeState } from "./task-submitter.js";
