/** The per-machine node manager: worker pool, resources, leases. See docs/design/node-manager.md. */

export { type InMemoryWorker, InMemoryWorkerPool } from "./in-memory-pool.js";
export {
  type ControlStoreClient,
  NodeManager,
  type NodeManagerOptions,
} from "./node-manager.js";
export type { PoolContext, PoolEvents, PooledWorker, WorkerPool, WorkerPoolFactory } from "./pool.js";
export { loaderFlags, parseRegisterDriver, parseRuntime, runtimeKeyOf } from "./runtime.js";
export type { WorkerProc } from "./worker-pool.js";
