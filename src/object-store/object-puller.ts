import { ObjectLostError, ObjectStoreFullError, ProtocolError } from "../errors/index.js";
import { Msg, type StorePull, type StorePullReply } from "../protocol/index.js";
import type { Connection } from "../transport/index.js";
import { log } from "../util/index.js";
import type { StoreManager } from "./store-manager.js";

/** Opens (or reuses) an authenticated connection to a process at `address`. */
export type Dial = (address: string) => Promise<Connection>;

/** How a pull moves bytes. */
export interface PullOptions {
  /** Bytes per StoreReadChunk (TSRAY_OBJECT_CHUNK_BYTES). */
  readonly chunkBytes: number;
  /** StoreReadChunk requests outstanding at once (TSRAY_OBJECT_CHUNKS_IN_FLIGHT). */
  readonly chunksInFlight: number;
}

/**
 * Brings objects stored on other nodes into this node's store (StorePull), for the
 * node manager: one transfer per object at a time, however many local readers ask;
 * chunks travel as StoreReadChunk replies from the source's node manager and are
 * copied straight into the arena, so no process holds the whole object in its heap.
 *
 * The source pins the object for the transfer (a StoreGet on the pulling
 * connection); the copy here is created with that connection as its writer, so a
 * connection that closes midway frees the partial copy (the store's own rule for a
 * writer that dies). A sealed copy is announced to the owner (AddObjectLocation),
 * which lists it to later pullers and frees it with the object; when the owner's
 * connection closes, every copy of its objects here is freed, as its own node does.
 *
 * Failure: a source that fails (unreachable, no longer has the object, cut midway) is
 * skipped for the next; when all fail the pull rejects with ObjectLostError naming
 * each source's answer. No room here: ObjectStoreFullError, at once.
 */
export class ObjectPuller {
  private readonly pulling = new Map<string, Promise<string>>();
  /** Owners whose connection this node watches (to free their copies when they go). */
  private readonly watched = new Set<string>();
  /** Rotates the choice among copies, so concurrent pullers of one object spread over its holders. */
  private turn = 0;

  /**
   * @param store this node's store
   * @param dial connects to other nodes' node managers and to owners
   * @param self this node manager's advertised address (skipped as a source; sent to owners)
   */
  constructor(
    private readonly store: StoreManager,
    private readonly dial: Dial,
    private readonly self: string,
    private readonly opts: PullOptions,
  ) {}

  /** Answer a StorePull: resolves once object `id` is sealed here (see StorePull for failures). */
  pull(msg: StorePull): Promise<StorePullReply> {
    const { id, size, owner, from } = msg;
    if (
      typeof id !== "string" ||
      typeof owner !== "string" ||
      !Number.isSafeInteger(size) ||
      size < 0 ||
      !Array.isArray(from) ||
      !from.every((a) => typeof a === "string")
    )
      throw new ProtocolError("StorePull needs an id, an owner, a size and the addresses holding a copy");
    if (this.store.has(id)) return Promise.resolve({ source: "" });
    let p = this.pulling.get(id);
    if (!p) {
      p = this.pullAny(id, size, owner, from).finally(() => this.pulling.delete(id));
      this.pulling.set(id, p);
    }
    return p.then((source) => ({ source }));
  }

  /** The sources in the order tried: copies other than the owner's node (rotating), then the owner's node. */
  private order(from: string[]): string[] {
    const all = from.filter((a, i) => a !== this.self && from.indexOf(a) === i);
    if (all.length <= 1) return all;
    const [first, ...copies] = all;
    const k = this.turn++ % copies.length;
    return [...copies.slice(k), ...copies.slice(0, k), first!];
  }

  private async pullAny(id: string, size: number, owner: string, from: string[]): Promise<string> {
    const why: string[] = [];
    for (const source of this.order(from)) {
      try {
        await this.pullFrom(source, id, size);
        this.store.countPull(size);
        this.announce(id, owner);
        return source;
      } catch (err) {
        if (err instanceof ObjectStoreFullError) throw err;
        why.push(`${source}: ${(err as Error).message}`);
        log.debug(`pull of ${id} from ${source} failed: ${(err as Error).message}`);
      }
    }
    throw new ObjectLostError(
      `object ${id} could not be pulled from any node holding it (${why.join("; ") || "no other node has it"})`,
    );
  }

  private async pullFrom(source: string, id: string, size: number): Promise<void> {
    const conn = await this.dial(source);
    const [loc] = (await conn.request({ t: Msg.StoreGet, ids: [id] })).locs;
    if (!Array.isArray(loc)) {
      if (loc && "spillFile" in loc) conn.send({ t: Msg.StoreRelease, ids: [id] });
      throw new Error(
        loc === null || loc === undefined
          ? "it does not have it"
          : "lost" in loc
            ? loc.lost
            : "it is spilled there and there is no room to restore it",
      );
    }
    try {
      if (loc[1] !== size) throw new Error(`it holds ${loc[1]} bytes, not ${size}`);
      await this.store.create(id, size, conn);
      this.store.pretouch(id);
      try {
        await this.transfer(conn, id, size);
      } catch (err) {
        this.store.discard(id, conn);
        throw err;
      }
      this.store.seal(id, conn);
    } finally {
      conn.send({ t: Msg.StoreRelease, ids: [id] });
    }
  }

  /**
   * Request the object's chunks, a window at a time; each lands in the arena (straight
   * from the socket when the store gives a target, else copied from the frame). On a
   * failure it settles only once no chunk is outstanding, so no late reply can write
   * into a block that the failed object gives back.
   */
  private transfer(conn: Connection, id: string, size: number): Promise<void> {
    const chunk = Math.max(64 * 1024, Math.floor(this.opts.chunkBytes));
    const window = Math.max(1, Math.floor(this.opts.chunksInFlight));
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let active = 0;
      let error: unknown;
      const settle = (): void => {
        if (active > 0) return;
        if (error !== undefined) reject(error);
        else if (next >= size) resolve();
      };
      const launch = (): void => {
        while (error === undefined && active < window && next < size) {
          const at = next;
          const length = Math.min(chunk, size - at);
          next += length;
          active++;
          const sink = this.store.chunkTarget(id, at, length, conn);
          conn.request({ t: Msg.StoreReadChunk, id, offset: at, length }, { sink }).then(
            (r) => {
              active--;
              if (error === undefined) {
                try {
                  if (r.d.length !== length)
                    throw new Error(`chunk at ${at} came with ${r.d.length} bytes, not ${length}`);
                  if (r.d !== sink) this.store.writeChunk(id, at, r.d, conn);
                } catch (err) {
                  error = err;
                }
              }
              launch();
              settle();
            },
            (err: unknown) => {
              active--;
              error ??= err;
              settle();
            },
          );
        }
      };
      if (size === 0) resolve();
      else launch();
    });
  }

  /** Tell the owner where the new copy is, and watch it: its copies go when it does. */
  private announce(id: string, owner: string): void {
    const ownerId = id.slice(0, id.lastIndexOf("/"));
    this.dial(owner).then(
      (c) => {
        c.send({ t: Msg.AddObjectLocation, id, node: this.self });
        if (this.watched.has(owner)) return;
        this.watched.add(owner);
        c.onClose(() => {
          this.watched.delete(owner);
          const n = this.store.freeOwnedBy(ownerId);
          if (n > 0) log.debug(`freed ${n} copies of objects owned by ${ownerId}, which is gone`);
        });
      },
      () => this.store.freeOwnedBy(ownerId), // unreachable: it died
    );
  }
}
