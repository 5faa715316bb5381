/** The public API (Ray's `ray.*`). Everything users import comes through here. */

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
  type MemoryOptions,
  type MemorySummary,
  memory,
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
export type { TaskOptions } from "./task-options.js";
