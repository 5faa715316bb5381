import { mkdirSync, rmSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import { config } from "../config/index.js";
import { ObjectStoreFullError, OwnerDiedError, ProtocolError } from "../errors/index.js";
import { Msg, type ObjectStoreStats, type StoreInfo, type StoreLocation } from "../protocol/index.js";
import {
  Allocator,
  createSegment,
  newSegmentName,
  type Segment,
  shmBackend,
  unlinkSegment,
} from "../shm/index.js";
import type { Connection } from "../transport/index.js";
import { type Clock, formatBytes, log, realClock } from "../util/index.js";
import { readSpillFile, writeSpillFile } from "./spill-file.js";
import { removeStaleStoreFiles, STORE_SEGMENT_TAG } from "./stale.js";

/** Objects at least this large start on a page boundary, so copy-on-write pages are never shared between objects. */
const PAGE = 4096;

interface StoredObject {
  readonly id: string;
  /** Offset of the object (page-aligned for large ones); `block` is what the allocator handed out. */
  offset: number;
  block: number;
  readonly size: number;
  sealed: boolean;
  /** Views held by each process (connection). */
  readonly pins: Map<Connection, number>;
  /** The owner freed it while someone still held views: delete at the last release. */
  freed: boolean;
  /** Where it lives on disk while spilled (then `block` is -1). */
  spillPath: string | undefined;
  lastUse: number;
  readonly creator: Connection;
}

/**
 * A node's shared-memory object store (Ray's plasma): one arena segment, an
 * allocator, and the objects in it. Processes create (reserve, write through their
 * own mapping, seal), read in place (pinned per process while views live), and the
 * owner frees. When the arena is full, sealed objects nobody is viewing are spilled
 * to disk (least recently used first) and restored on the next read; when there is
 * no room to restore one, the reader is sent to its spill file instead.
 */
export class StoreManager {
  readonly info: StoreInfo;
  private readonly segment: Segment;
  private readonly alloc: Allocator;
  private readonly objects = new Map<string, StoredObject>();
  private readonly spillDir: string;
  private readonly watched = new WeakSet<Connection>();
  /** Store operations that move data (spill/restore) run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Ids of owner processes that are gone (see freeOwnedBy); one short string per process that ever left. */
  private readonly goneOwners = new Set<string>();
  /** Readers waiting for objects being written (see get). */
  private readonly sealWaiters = new Map<string, Array<() => void>>();
  /** Objects on disk now, and their bytes. */
  private spilledObjects = 0;
  private spilledBytes = 0;
  /** Since the store started. */
  private readonly totals = {
    spills: 0,
    restores: 0,
    spilledBytes: 0,
    restoredBytes: 0,
    pulls: 0,
    pulledBytes: 0,
    servedBytes: 0,
  };

  /**
   * @param clock stamps last use (which object spills first); default real time.
   * @param node where other nodes reach this store's node manager (StoreInfo.node), if they can.
   */
  constructor(
    capacity: number,
    sessionDir: string,
    private readonly clock: Clock = realClock,
    node?: string,
  ) {
    removeStaleStoreFiles();
    const name = newSegmentName(STORE_SEGMENT_TAG);
    this.segment = createSegment(name, capacity);
    this.alloc = new Allocator(capacity);
    this.info = node
      ? { name, size: capacity, backend: shmBackend(), node }
      : { name, size: capacity, backend: shmBackend() };
    this.spillDir = config().spillDir
      ? join(config().spillDir, `tsray-${process.pid}`)
      : join(sessionDir, "spill");
  }

  /** Bytes of the arena in use (allocated blocks). */
  get used(): number {
    return this.alloc.used;
  }

  /** Number of objects in the store (in memory or spilled). */
  get count(): number {
    return this.objects.size;
  }

  /**
   * The store's usage now (GetStoreStats), from its bookkeeping: O(objects), no I/O,
   * not queued behind store operations in progress.
   */
  stats(nodeId: string): ObjectStoreStats {
    let numObjects = 0;
    let objectBytes = 0;
    let pinnedObjects = 0;
    let pinnedBytes = 0;
    for (const o of this.objects.values()) {
      if (o.block < 0) continue; // spilled (counted below)
      numObjects++;
      objectBytes += o.size;
      if (o.pins.size > 0) {
        pinnedObjects++;
        pinnedBytes += o.size;
      }
    }
    return {
      nodeId,
      backend: this.info.backend,
      capacity: this.info.size,
      usedBytes: this.alloc.used,
      numObjects,
      objectBytes,
      pinnedObjects,
      pinnedBytes,
      largestFreeBlock: this.alloc.largestFree,
      spilledObjects: this.spilledObjects,
      spilledBytes: this.spilledBytes,
      spilledObjectsTotal: this.totals.spills,
      spilledBytesTotal: this.totals.spilledBytes,
      restoredObjectsTotal: this.totals.restores,
      restoredBytesTotal: this.totals.restoredBytes,
      pulledObjectsTotal: this.totals.pulls,
      pulledBytesTotal: this.totals.pulledBytes,
      servedBytesTotal: this.totals.servedBytes,
    };
  }

  /** Reserve space for a new object; resolves with its offset. */
  create(id: string, size: number, conn: Connection): Promise<{ offset: number }> {
    this.watch(conn);
    return this.serial(async () => {
      if (this.objects.has(id))
        throw new ProtocolError(`object ${id} is already in the store; each object is created once`);
      this.checkOwnerLives(id);
      const [block, offset] = await this.allocate(size, id);
      try {
        this.checkOwnerLives(id); // it may have gone while we spilled to make room
      } catch (err) {
        this.alloc.free(block);
        throw err;
      }
      const obj: StoredObject = {
        id,
        offset,
        block,
        size,
        sealed: false,
        pins: new Map([[conn, 1]]),
        freed: false,
        spillPath: undefined,
        lastUse: this.clock.now(),
        creator: conn,
      };
      this.objects.set(id, obj);
      return { offset };
    });
  }

  /** Whether object `id` is here, sealed and not freed (in the arena or spilled). */
  has(id: string): boolean {
    const obj = this.objects.get(id);
    return obj?.sealed === true && !obj.freed;
  }

  /**
   * Bytes `[at, at + length)` of object `id`, which `conn` has pinned (StoreGet): a view
   * of the arena (a copy on the fallback backend), for another node pulling it
   * (StoreReadChunk). Throws ProtocolError for an object not pinned by `conn`, not in
   * the arena, or a range outside it.
   */
  readChunk(id: string, at: number, length: number, conn: Connection): Uint8Array {
    const obj = this.objects.get(id);
    if (!obj?.pins.has(conn) || !obj.sealed || obj.block < 0)
      throw new ProtocolError(`object ${id} is not pinned in this store by the connection reading it`);
    checkRange(obj, at, length);
    // The first chunk: map the rest of the object's pages from a background thread meanwhile.
    if (at === 0 && length < obj.size) this.pretouch(id);
    this.totals.servedBytes += length;
    return this.segment.read(obj.offset + at, length);
  }

  /**
   * Copy `data` into object `id` at `at`: an object `conn` created and has not sealed
   * yet (a pull writing the chunks it receives). Throws ProtocolError otherwise.
   */
  writeChunk(id: string, at: number, data: Uint8Array, conn: Connection): void {
    const obj = this.writing(id, conn);
    if (!obj) throw new ProtocolError(`object ${id} is not being written through this connection`);
    checkRange(obj, at, data.length);
    this.segment.write(obj.offset + at, data);
  }

  /**
   * Fault in the pages of object `id` from a background thread (a pull's target, while
   * its chunks arrive: writes then hit mapped pages). Safe beside concurrent writes.
   */
  pretouch(id: string): void {
    const obj = this.objects.get(id);
    if (obj && obj.block >= 0) void this.segment.pretouch(obj.offset, obj.size).catch(() => undefined);
  }

  /** Drop object `id` that `conn` created and will not seal (a failed pull): freed, as if its writer died. */
  discard(id: string, conn: Connection): void {
    const obj = this.objects.get(id);
    if (!obj || obj.sealed || obj.creator !== conn) return;
    obj.freed = true;
    this.wakeReaders(id);
    this.unpin(obj, conn);
  }

  /**
   * Where bytes `[at, at + length)` of object `id` lie in this process's mapping of the
   * arena, for a pull's chunk to land in directly (a connection sink): only for an
   * object `conn` is writing, and only with the zero-copy backend (else undefined).
   */
  chunkTarget(id: string, at: number, length: number, conn: Connection): Uint8Array | undefined {
    const obj = this.writing(id, conn);
    if (!obj || !this.segment.view) return undefined;
    checkRange(obj, at, length);
    return this.segment.view(obj.offset + at, length);
  }

  /** Object `id` if `conn` created it and it is in the arena, not sealed yet. */
  private writing(id: string, conn: Connection): StoredObject | undefined {
    const obj = this.objects.get(id);
    return obj && !obj.sealed && obj.creator === conn && obj.block >= 0 ? obj : undefined;
  }

  /** Count a completed pull from another node (for the stats). */
  countPull(size: number): void {
    this.totals.pulls++;
    this.totals.pulledBytes += size;
  }

  seal(id: string, conn: Connection): void {
    const obj = this.objects.get(id);
    if (!obj || obj.sealed) return;
    obj.sealed = true;
    this.unpin(obj, conn);
    this.wakeReaders(id);
  }

  /**
   * Locations of objects (restoring spilled ones), pinned for `conn` (see
   * StoreLocation: a spilled object with no room to restore it is answered with its
   * spill file). An object being written is waited for: a reader can learn of an
   * object (from its owner, or from a ref that says where it is) before the writer's
   * StoreSeal, which travels on another connection, has been read here.
   */
  async get(ids: string[], conn: Connection): Promise<{ locs: StoreLocation[] }> {
    this.watch(conn);
    for (const id of ids) {
      const obj = this.objects.get(id);
      if (obj && !obj.sealed && !obj.freed) await new Promise<void>((r) => this.whenSealed(id, r));
    }
    return this.serial(async () => {
      const locs: StoreLocation[] = [];
      for (const id of ids) {
        const obj = this.objects.get(id);
        if (!obj?.sealed || obj.freed) {
          locs.push(null);
          continue;
        }
        const loc: StoreLocation =
          obj.spillPath === undefined ? [obj.offset, obj.size] : await this.restore(obj);
        if (loc !== null && !("lost" in loc)) {
          obj.pins.set(conn, (obj.pins.get(conn) ?? 0) + 1);
          obj.lastUse = this.clock.now();
        }
        locs.push(loc); // null or lost: the reader gets ObjectLostError
      }
      return { locs };
    });
  }

  release(ids: string[], conn: Connection): void {
    for (const id of ids) {
      const obj = this.objects.get(id);
      if (obj) this.unpin(obj, conn);
    }
  }

  /** The owner freed these objects. */
  free(ids: string[]): void {
    for (const id of ids) {
      const obj = this.objects.get(id);
      if (!obj) continue;
      obj.freed = true;
      this.wakeReaders(id);
      if (obj.pins.size === 0) this.delete(obj);
    }
  }

  /**
   * The process with this id is gone: free the objects it owned (ids `<owner>/<n>`).
   * Under ownership nobody can reach them any more (borrowers get OwnerDiedError), so
   * without this a crashed worker or a driver that disconnects from a long-lived
   * cluster would leave its objects in the store for good. Views still held elsewhere
   * keep the bytes until released, as for any free.
   */
  freeOwnedBy(ownerId: string): number {
    if (ownerId === "") return 0;
    this.goneOwners.add(ownerId);
    const prefix = `${ownerId}/`;
    const ids: string[] = [];
    for (const id of this.objects.keys()) if (id.startsWith(prefix)) ids.push(id);
    this.free(ids);
    return ids.length;
  }

  /** A worker storing a return value for an owner that is gone would leave an object nobody frees. */
  private checkOwnerLives(id: string): void {
    const owner = id.slice(0, id.lastIndexOf("/"));
    if (this.goneOwners.has(owner)) {
      throw new OwnerDiedError(`object ${id} is not stored: its owner ${owner} is gone`);
    }
  }

  /** Remove the arena and spill files. */
  close(): void {
    this.segment.close();
    unlinkSegment(this.info.name);
    try {
      rmSync(this.spillDir, { recursive: true, force: true });
    } catch {
      // An unusable spill path (e.g. under a regular file: ENOTDIR) holds nothing to remove.
    }
  }

  /** A short description of usage, for errors and status. */
  describe(): string {
    let pinned = 0;
    for (const o of this.objects.values()) if (o.pins.size > 0 && o.block >= 0) pinned += o.size;
    return (
      `capacity ${formatBytes(this.info.size, "both")}, in use ${formatBytes(this.alloc.used, "both")} ` +
      `(${formatBytes(pinned, "both")} pinned by readers or being written), largest free block ${formatBytes(this.alloc.largestFree, "both")}, ` +
      `spilled ${formatBytes(this.spilledBytes, "both")}`
    );
  }

  /** Call `fn` once object `id` is sealed, or freed unsealed (its writer died). */
  private whenSealed(id: string, fn: () => void): void {
    const list = this.sealWaiters.get(id);
    if (list) list.push(fn);
    else this.sealWaiters.set(id, [fn]);
  }

  private wakeReaders(id: string): void {
    const list = this.sealWaiters.get(id);
    if (!list) return;
    this.sealWaiters.delete(id);
    for (const fn of list) fn();
  }

  private unpin(obj: StoredObject, conn: Connection): void {
    const n = obj.pins.get(conn);
    if (n === undefined) return;
    if (n > 1) obj.pins.set(conn, n - 1);
    else obj.pins.delete(conn);
    if (obj.pins.size === 0 && obj.freed) this.delete(obj);
  }

  private delete(obj: StoredObject): void {
    this.objects.delete(obj.id);
    if (obj.block >= 0) this.alloc.free(obj.block);
    obj.block = -1;
    if (obj.spillPath !== undefined) {
      this.spilledObjects--;
      this.spilledBytes -= obj.size;
      void unlink(obj.spillPath).catch(() => undefined);
    }
  }

  private watch(conn: Connection): void {
    if (this.watched.has(conn)) return;
    this.watched.add(conn);
    conn.onClose(() => {
      // The process is gone: its views went with it; what it was writing is garbage.
      for (const obj of [...this.objects.values()]) {
        if (!obj.pins.has(conn)) continue;
        obj.pins.delete(conn);
        if (!obj.sealed && obj.creator === conn) {
          obj.freed = true;
          this.wakeReaders(obj.id); // they find it freed: null, ObjectLostError
        }
        if (obj.pins.size === 0 && obj.freed) this.delete(obj);
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Allocate `size` bytes (page-aligned when large), spilling unpinned objects when full. */
  private async allocate(size: number, forId: string): Promise<[number, number]> {
    const want = size >= PAGE ? size + PAGE : size;
    if (want > this.info.size) {
      throw new ObjectStoreFullError(
        `object ${forId} of ${formatBytes(size, "both")} does not fit in the object store at all (${this.describe()}); ` +
          "start tsray with a larger objectStoreMemory",
      );
    }
    let block = this.alloc.alloc(want);
    if (block === null) {
      await this.spillFor(want, forId);
      block = this.alloc.alloc(want);
    }
    if (block === null) {
      // Readers may hold views that are only garbage: ask them to collect before the caller retries.
      const holders = new Set<Connection>();
      for (const o of this.objects.values()) for (const c of o.pins.keys()) holders.add(c);
      for (const c of holders) c.send({ t: Msg.StorePressure });
      throw new ObjectStoreFullError(
        `cannot store object ${forId} of ${formatBytes(size, "both")}: the object store is full and nothing more can be spilled: ` +
          `the objects in memory are pinned by readers or being written (${this.describe()})`,
      );
    }
    const offset = size >= PAGE ? Math.ceil(block / PAGE) * PAGE : block;
    return [block, offset];
  }

  /** Spill least recently used, unpinned, sealed objects until `want` bytes fit in one block. */
  private async spillFor(want: number, forId: string): Promise<void> {
    const candidates = [...this.objects.values()]
      .filter((o) => o.sealed && !o.freed && o.pins.size === 0 && o.block >= 0)
      .sort((a, b) => a.lastUse - b.lastUse);
    for (const obj of candidates) {
      if (this.alloc.largestFree >= want) return;
      try {
        await this.spill(obj);
      } catch (err) {
        throw new ObjectStoreFullError(
          `cannot store object ${forId} of ${formatBytes(want, "both")}: the object store is full and spilling to ${this.spillDir} ` +
            `failed (writing out ${obj.id}): ${(err as Error).message} (${this.describe()})`,
          { cause: err },
        );
      }
    }
  }

  private async spill(obj: StoredObject): Promise<void> {
    mkdirSync(this.spillDir, { recursive: true });
    const path = join(this.spillDir, obj.id.replace(/[^A-Za-z0-9_.-]/g, "_"));
    // On failure (ENOSPC) no partial file stays: the object is still in the arena, intact.
    await writeSpillFile(path, this.segment.read(obj.offset, obj.size));
    if (this.objects.get(obj.id) !== obj) {
      // Freed by its owner while it was being written out: delete() gave its block back.
      await unlink(path).catch(() => undefined);
      return;
    }
    this.alloc.free(obj.block);
    obj.block = -1;
    obj.spillPath = path;
    this.spilledObjects++;
    this.spilledBytes += obj.size;
    this.totals.spills++;
    this.totals.spilledBytes += obj.size;
    log.debug(`spilled ${obj.id} (${formatBytes(obj.size, "both")}) to ${path}`);
  }

  /**
   * Bring a spilled object back into the arena: its location there; its spill file
   * when there is no room (the reader reads the file: a full disk or a store full of
   * pinned objects must not strand what is already on disk); `lost` (the object is
   * dropped) when the file cannot be read; null when it was freed meanwhile.
   */
  private async restore(obj: StoredObject): Promise<StoreLocation> {
    const path = obj.spillPath!;
    let block: number;
    let offset: number;
    try {
      [block, offset] = await this.allocate(obj.size, obj.id);
    } catch (err) {
      if (!(err instanceof ObjectStoreFullError)) throw err;
      if (this.objects.get(obj.id) !== obj) return null;
      log.debug(
        `object ${obj.id} is read from its spill file ${path}: no room to restore it: ${err.message}`,
      );
      // A failed spill is the error's cause; without one, nothing unpinned was left to spill.
      return { spillFile: path, size: obj.size, pinned: err.cause === undefined };
    }
    try {
      const target = this.segment.view ? this.segment.view(offset, obj.size) : new Uint8Array(obj.size);
      await readSpillFile(path, target);
      if (!this.segment.view) this.segment.write(offset, target);
    } catch (err) {
      const lost = `object ${obj.id} is lost: its spill file ${path} cannot be read: ${(err as Error).message}`;
      log.warn(lost);
      this.alloc.free(block);
      if (this.objects.get(obj.id) !== obj) return null;
      this.delete(obj);
      return { lost };
    }
    if (this.objects.get(obj.id) !== obj) {
      // Freed by its owner while it was being read back: delete() already counted its spill file gone.
      this.alloc.free(block);
      return null;
    }
    obj.block = block;
    obj.offset = offset;
    obj.spillPath = undefined;
    this.spilledObjects--;
    this.spilledBytes -= obj.size;
    this.totals.restores++;
    this.totals.restoredBytes += obj.size;
    await unlink(path).catch(() => undefined);
    return [offset, obj.size];
  }
}

function checkRange(obj: StoredObject, at: number, length: number): void {
  if (
    !Number.isSafeInteger(at) ||
    !Number.isSafeInteger(length) ||
    at < 0 ||
    length < 0 ||
    at + length > obj.size
  )
    throw new ProtocolError(
      `range [${at}, ${at}+${length}) is outside object ${obj.id} of ${obj.size} bytes`,
    );
}
