/** The per-node shared-memory object store: see docs/design/object-store.md. */

export { type Dial, ObjectPuller, type PullOptions } from "./object-puller.js";
export { removeStaleStoreFiles } from "./stale.js";
export { StoreClient } from "./store-client.js";
export { StoreManager } from "./store-manager.js";

import { constants } from "node:buffer";
import { totalmem } from "node:os";
import { config } from "../config/index.js";

/**
 * The object store capacity when none is given: TSRAY_OBJECT_STORE_MEMORY, else 30%
 * of this machine's memory capped at 2 GiB (and at what one ArrayBuffer can map:
 * 4 GiB on Node 20).
 */
export function defaultObjectStoreMemory(): number {
  const set = config().objectStoreMemory;
  if (set > 0) return set;
  return Math.min(Math.floor(totalmem() * 0.3), 2 * 1024 ** 3, constants.MAX_LENGTH);
}

/** The largest object store this Node.js can map as one segment. */
export const MAX_OBJECT_STORE_MEMORY: number = constants.MAX_LENGTH;
