/**
 * The node's shared-memory object store: any process <-> its node manager, which
 * serves Store* and GetStoreStats; StorePressure goes the other way and every core
 * worker serves it. See docs/design/object-store.md.
 */
import type { Msg } from "./kinds.js";

/** The node's shared-memory object store, as processes map it. */
export interface StoreInfo {
  /** Segment name of the arena (e.g. /tsray-1234-1). */
  name: string;
  /** Arena capacity in bytes. */
  size: number;
  /** "native" (zero-copy) or "js-fallback" (copies). */
  backend: string;
  /**
   * Where other nodes' node managers reach this store's node manager to pull its
   * objects (its advertised `tcp://host:port`); unset for a store no other node can
   * reach (an embedded, Unix-socket-only node).
   */
  node?: string;
}

/**
 * Process -> its node manager: reserve `size` bytes for object `id` in the store.
 * Reply body `StoreCreateReply`; the creator then writes the object at that offset of its
 * shared mapping and sends StoreSeal. Makes room by spilling unpinned objects to
 * disk; fails with ObjectStoreFullError (sizes in the message) when that fails too
 * (the creator then collects garbage and retries up to 3 times). Not idempotent: a
 * second create of the same id is refused.
 * Failure: if the creator disconnects before sealing, the space is freed; the
 * creator's request rejects with the connection's error.
 */
export interface StoreCreate {
  t: typeof Msg.StoreCreate;
  rid: number;
  id: string;
  size: number;
}

/** Reply to StoreCreate: where in the arena the creator writes the object. */
export interface StoreCreateReply {
  offset: number;
}

/**
 * Process -> node manager: the object is written and immutable from now on; drops
 * the creator's pin. Notification; idempotent (unknown or sealed ids are ignored).
 * The creator does not wait for it: messages on its connection stay in order, so its
 * own later StoreGet sees the object sealed.
 * Failure: lost only with the connection: the
 * unsealed object is then freed, StoreGet answers null for it, and readers get
 * ObjectLostError (there is no lineage reconstruction). A worker that loses its
 * node-manager connection exits; a driver that loses it has lost the cluster.
 */
export interface StoreSeal {
  t: typeof Msg.StoreSeal;
  id: string;
}

/**
 * Where StoreGet found one object:
 * - `[offset, size]`: in the arena (the normal case; a spilled object is restored first);
 * - `{ spillFile, size, pinned }`: spilled, and the store has no room to restore it:
 *   the reader reads the file itself, into its own memory, then releases the pin,
 *   which keeps the file from being deleted meanwhile (a restore for another reader
 *   may still remove it: on ENOENT the reader asks again). `pinned`: there was
 *   nothing to spill, every object in the arena being pinned (views that are only
 *   garbage may hold them: the reader collects and asks again first, as for a full
 *   create, so it can still get a view in place); false when a spill failed (e.g.
 *   ENOSPC on the spill disk: no retry helps);
 * - `{ lost }`: the store had it but cannot give it back (its spill file is
 *   unreadable); `lost` says why, for the reader's ObjectLostError;
 * - `null`: the store does not have it (never stored, freed, or its writer died).
 */
export type StoreLocation =
  | [offset: number, size: number]
  | { spillFile: string; size: number; pinned: boolean }
  | { lost: string }
  | null;

/**
 * Process -> node manager: where these objects are (restoring spilled ones), and pin
 * them for this connection until StoreRelease (or the connection closes). Reply body
 * `StoreGetReply`: one {@link StoreLocation} per id; every answer but `null` and `lost`
 * adds a pin (not idempotent). Never fails for want of space: a spilled object that
 * cannot be restored is answered with its spill file. An object still being written
 * is answered once its StoreSeal arrives (the writer's seal travels on another
 * connection and may come after a reader that learned of the object through its
 * owner), or with null if its writer dies first.
 * Failure: connection lost -> the request rejects with the connection's error, and
 * every pin the connection held is dropped with it.
 */
export interface StoreGet {
  t: typeof Msg.StoreGet;
  rid: number;
  ids: string[];
}

/** Reply to StoreGet: one location per requested id, in order. */
export interface StoreGetReply {
  locs: StoreLocation[];
}

/**
 * Process -> node manager: this process holds no views of these objects any more;
 * drops one pin per id (the pin its StoreGet took). Notification; unknown ids are
 * ignored, but a duplicate would drop a pin a later StoreGet took, so it is sent once
 * per pin (batched per microtask).
 * Failure: lost only with the connection: every pin of a
 * closed connection is dropped, so nothing leaks.
 */
export interface StoreRelease {
  t: typeof Msg.StoreRelease;
  ids: string[];
}

/**
 * Owner -> node manager: these objects are unreferenced; free them (once unpinned).
 * Notification; idempotent.
 * Failure: lost with the connection (or the node manager gone):
 * the objects stay until the store is closed with its node; a full store spills
 * them like any unpinned object.
 */
export interface StoreFree {
  t: typeof Msg.StoreFree;
  ids: string[];
}

/**
 * Any process (or `tsray memory`) -> node manager: the usage of the node's object
 * store. Reply body `ObjectStoreStats`. Read-only and idempotent; answered from the
 * store's bookkeeping without waiting for store operations in progress (a create or
 * restore still running is counted as far as it got).
 * Failure: lost only with its connection, which fails the request
 * (RuntimeUnavailableError for the caller).
 */
export interface GetStoreStats {
  t: typeof Msg.GetStoreStats;
  rid: number;
}

/** One node's shared-memory object store, as its node manager counts it (Ray's ObjectStoreStats). */
export interface ObjectStoreStats {
  nodeId: string;
  /** "native" (zero-copy) or "js-fallback" (copies). */
  backend: string;
  /** Arena size in bytes (`objectStoreMemory`). */
  capacity: number;
  /**
   * Bytes of the arena allocated: objects in memory and objects being written, with
   * their alignment (an object of a page or more takes one page more than its size).
   * 0 when the store holds nothing.
   */
  usedBytes: number;
  /** Objects in the arena (sealed or being written), not counting spilled ones. */
  numObjects: number;
  /** Sum of the sizes of those objects. */
  objectBytes: number;
  /** Objects in the arena that some process pins (holds views of, or is writing), and their bytes. */
  pinnedObjects: number;
  pinnedBytes: number;
  /** The largest object that fits without spilling. */
  largestFreeBlock: number;
  /** Objects on disk now (spilled, not restored or freed yet), and their bytes. */
  spilledObjects: number;
  spilledBytes: number;
  /** Since the store started: objects and bytes spilled, and restored. */
  spilledObjectsTotal: number;
  spilledBytesTotal: number;
  restoredObjectsTotal: number;
  restoredBytesTotal: number;
  /** Since the store started: objects and bytes pulled in from other nodes, and served to them. */
  pulledObjectsTotal: number;
  pulledBytesTotal: number;
  servedBytesTotal: number;
}

/**
 * Process -> its node manager: bring object `id` (`size` bytes, owned by `owner`),
 * stored on other nodes, into this node's store. `from` are the node managers
 * (advertised addresses) holding a copy, as the owner listed them; the node manager
 * pulls from one of them (a copy other than the owner's node first, so a broadcast
 * does not load one source), falling back to the next on failure. Chunked: several
 * StoreReadChunk requests of `TSRAY_OBJECT_CHUNK_BYTES` in flight, each written into
 * the arena as it arrives; the object is sealed when complete. Concurrent pulls of
 * one id on one node share one transfer; an id already sealed here answers at once.
 * Reply body `StorePullReply`; afterwards the requester reads the object with StoreGet
 * (in place, zero-copy). Once sealed, the pulling node manager tells the owner
 * (AddObjectLocation) and watches it: when the owner's connection closes, its copies
 * here are freed, as its own node frees them.
 * Failure: every source unreachable, or none has the object any more -> ObjectLostError
 * naming the object and each source's answer; no room -> ObjectStoreFullError; a
 * transfer cut midway frees the partial object and tries the next source.
 */
export interface StorePull {
  t: typeof Msg.StorePull;
  rid: number;
  id: string;
  size: number;
  owner: string;
  from: string[];
}

/** Reply to StorePull: the node manager the object came from ("" when it was already here). */
export interface StorePullReply {
  source: string;
}

/**
 * Node manager -> the node manager of another node holding a copy: bytes
 * `[offset, offset + length)` of object `id`, which this connection has pinned with a
 * StoreGet first (so it is sealed, in the arena, and cannot be spilled or freed while
 * the transfer runs; the puller sends StoreRelease at the end, or its close drops the
 * pin). Reply body `StoreReadChunkReply`. Read-only and idempotent.
 * Failure: an id this connection has not pinned, or a range outside the object ->
 * ProtocolError; connection lost -> the request rejects (the puller tries another source).
 */
export interface StoreReadChunk {
  t: typeof Msg.StoreReadChunk;
  rid: number;
  id: string;
  offset: number;
  length: number;
}

/** Reply to StoreReadChunk: the bytes (a view of the arena on the sender's side, copied once into the frame). */
export interface StoreReadChunkReply {
  d: Uint8Array;
}

/**
 * Node manager -> processes holding store views: the store is full; collect garbage
 * so views that are unreachable release their pins. Notification; best effort and
 * idempotent.
 * Failure: a lost one only makes the creator's retries more likely to fail.
 */
export interface StorePressure {
  t: typeof Msg.StorePressure;
}

/** Requests the node manager serves for its object store, by kind: the message and its reply body. */
export interface ObjectStoreRequests {
  [Msg.StoreCreate]: { req: StoreCreate; reply: StoreCreateReply };
  [Msg.StoreGet]: { req: StoreGet; reply: StoreGetReply };
  [Msg.GetStoreStats]: { req: GetStoreStats; reply: ObjectStoreStats };
  [Msg.StorePull]: { req: StorePull; reply: StorePullReply };
  [Msg.StoreReadChunk]: { req: StoreReadChunk; reply: StoreReadChunkReply };
}

/** Notifications the node manager serves for its object store. */
export interface ObjectStoreNotifications {
  [Msg.StoreSeal]: StoreSeal;
  [Msg.StoreRelease]: StoreRelease;
  [Msg.StoreFree]: StoreFree;
}

/** Notifications every core worker serves as a user of the store. */
export interface StoreClientNotifications {
  [Msg.StorePressure]: StorePressure;
}
