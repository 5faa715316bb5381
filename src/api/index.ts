/**
 * The API component's boundary: the public API (Ray's `ray.*`), which src/index.ts
 * re-exports by name, plus what the CLI shares with the driver (session directory,
 * secrets, GPU detection, the memory report), which stays out of the package's exports.
 */

export {
  type ActorClass,
  type ActorConstructor,
  ActorHandle,
  type ActorMethod,
  type ActorOptions,
  getActor,
  kill,
  listActors,
  type MethodKeys,
} from "./actor.js";
export {
  availableResources,
  clusterResources,
  getGpuIds,
  getRuntimeContext,
  listWorkers,
  nodes,
} from "./cluster.js";
export {
  type ClusterInfo,
  currentNamespace,
  headPid,
  type InitOptions,
  init,
  isInitialized,
  shutdown,
} from "./init.js";
export {
  fetchMemory,
  type MemoryOptions,
  type MemorySummary,
  memory,
  memoryRequest,
  type ObjectStoreStats,
  type ObjectSummary,
  summarizeMemory,
} from "./memory.js";
export { cancel, type GetOptions, get, put, type WaitOptions, wait } from "./objects.js";
export { remote } from "./remote.js";
export type {
  AnyFunction,
  MultiReturnRemoteFunction,
  RefOr,
  RemoteArgs,
  RemoteFunction,
  ReturnRefs,
} from "./remote-function.js";
export { createSessionDir, detectGpus, secretForAddress, sessionRoot } from "./session.js";
export type { TaskOptions } from "./task-options.js";
