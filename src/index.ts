/**
 * tsray: Ray's core for TypeScript. `import * as ray from "tsray"` or
 * `import ray from "tsray"`.
 */
import {
  ActorHandle,
  availableResources,
  cancel,
  clusterResources,
  get,
  getActor,
  getGpuIds,
  getRuntimeContext,
  init,
  isInitialized,
  kill,
  listActors,
  listWorkers,
  memory,
  nodes,
  put,
  remote,
  shutdown,
  wait,
} from "./api/index.js";
import { ObjectRef } from "./core-worker/index.js";
import * as errors from "./errors/index.js";
import { registerClass, registerSerializer } from "./serialization/index.js";

// By name, not `export *`: src/api/index.ts is also the API component's boundary
// for the CLI, and what it shares there is not part of the package.
export {
  type ActorClass,
  type ActorConstructor,
  ActorHandle,
  type ActorMethod,
  type ActorOptions,
  type AnyFunction,
  availableResources,
  type ClusterInfo,
  cancel,
  clusterResources,
  currentNamespace,
  type GetOptions,
  get,
  getActor,
  getGpuIds,
  getRuntimeContext,
  headPid,
  type InitOptions,
  init,
  isInitialized,
  kill,
  listActors,
  listWorkers,
  type MemoryOptions,
  type MemorySummary,
  type MethodKeys,
  type MultiReturnRemoteFunction,
  memory,
  nodes,
  type ObjectStoreStats,
  type ObjectSummary,
  put,
  type RefOr,
  type RemoteArgs,
  type RemoteFunction,
  type ReturnRefs,
  remote,
  shutdown,
  summarizeMemory,
  type TaskOptions,
  type WaitOptions,
  wait,
} from "./api/index.js";
export type { RuntimeContext } from "./core-worker/index.js";
export { ObjectRef } from "./core-worker/index.js";
export {
  ActorDiedError,
  AuthenticationError,
  GetTimeoutError,
  InfeasibleResourcesError,
  NodeDiedError,
  ObjectLostError,
  ObjectStoreFullError,
  OwnerDiedError,
  ProtocolError,
  ProtocolVersionError,
  RayActorError,
  RayError,
  RayTaskError,
  RemoteDefinitionError,
  RuntimeUnavailableError,
  SerializationError,
  TaskCancelledError,
  UnsafeDirectoryError,
  WorkerCrashedError,
} from "./errors/index.js";
export type { ActorInfo, ActorState, NodeInfo, WorkerInfo } from "./protocol/index.js";
export {
  type RegisterClassOptions,
  registerClass,
  registerSerializer,
  type Serializer,
} from "./serialization/index.js";

/** The default export: the same API as the named exports. */
const ray = {
  init,
  shutdown,
  isInitialized,
  cancel,
  remote,
  get,
  put,
  wait,
  getGpuIds,
  getRuntimeContext,
  nodes,
  clusterResources,
  availableResources,
  listWorkers,
  registerSerializer,
  registerClass,
  ObjectRef,
  ActorHandle,
  getActor,
  kill,
  listActors,
  memory,
  ...errors,
};
export default ray;
