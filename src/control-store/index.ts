/** The cluster control store (Ray's GCS) and its storage backends. See docs/design/control-store.md. */

export { ActorManager } from "./actor-manager.js";
export { MemoryBackend, type StorageBackend } from "./backend.js";
export { ControlStore } from "./control-store.js";
export { parseRedisUrl, RedisBackend, type RedisBackendOptions } from "./redis-backend.js";
