import { OwnerDiedError, RuntimeUnavailableError } from "../errors/index.js";
import type { StoreClient } from "../object-store/index.js";
import { type GetObject, type GetObjectReply, Msg } from "../protocol/index.js";
import { encode, errorCodec } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import { bytesOf, EMPTY, inlineValue } from "./entry-value.js";
import type { KeepAlive } from "./keep-alive.js";
import { detach, FAILED, ObjEntry, PENDING, READY } from "./object-table.js";
import type { RefCounter } from "./ref-counter.js";
import type { RefShell } from "./ref-shell.js";

/** Where the node's object store client is found (set once the node manager answered registration). */
export interface StoreHolder {
  readonly store: StoreClient | undefined;
}

/** An encoded value as fetched: the bytes (empty when it sits in the store), failed or not, store size. */
interface Raw {
  data: Uint8Array;
  failed: boolean;
  stored: number;
}

/**
 * Values that are not here yet: a borrowed object's value is asked from its owner
 * (GetObject) or read in place from this node's object store; the owner side answers
 * GetObject ({@link serve}). One fetch per entry at a time (`ObjEntry.fetching`).
 */
export class ObjectFetcher {
  /** Owned stored objects: the other nodes' node managers that pulled a copy (AddObjectLocation). */
  private readonly copies = new Map<string, string[]>();

  constructor(
    private readonly counter: RefCounter,
    private readonly shell: RefShell,
    private readonly endpoint: Endpoint,
    private readonly keepAlive: KeepAlive,
    private readonly holder: StoreHolder,
  ) {}

  /** The store client, or RuntimeUnavailableError when this process has none. */
  requireStore(): StoreClient {
    const s = this.holder.store;
    if (!s)
      throw new RuntimeUnavailableError("this process has no object store (not registered with a node)");
    return s;
  }

  /** [size, store name] of an owned value sealed in this node's store, for readers to go there directly. */
  storedAt(e: ObjEntry): [number, string] | undefined {
    const store = this.holder.store;
    if (!e.owned || e.state !== READY || e.stored === 0 || !store) return undefined;
    return [e.stored, store.info.name];
  }

  /**
   * The sender said a borrowed object's value sits sealed in store `at[1]`: settle it as
   * stored, so it is read in place without asking its owner. Only a store on this node,
   * and only an entry nobody settled or asked for yet. The sender's ref keeps the object
   * alive (lent, pinned or contained) until this process registered, so it is still
   * there; spilled, the store restores it on read.
   */
  locate(e: ObjEntry, at: [number, string]): void {
    if (at[1] !== this.holder.store?.info.name || e.owned || e.state !== PENDING || e.fetching) return;
    e.stored = at[0];
    e.settle(READY, EMPTY);
  }

  /**
   * An untracked entry for an id whose entry was dropped (its refs were released
   * here): the value is not reachable any more.
   */
  droppedEntry(id: string, owner: string): ObjEntry {
    const e = new ObjEntry(id, owner === this.counter.home.address, owner);
    if (e.owned) e.settle(FAILED, encode(new OwnerDiedError(`object ${id} was already freed by its owner`)));
    return e;
  }

  /** The value of a settled entry: decoded bytes, or read in place from the object store. */
  read(e: ObjEntry): unknown {
    if (e.state === FAILED) throw errorCodec.decode(e.data!);
    return e.stored ? this.requireStore().get(e.id) : inlineValue(e, this.counter.home.scope);
  }

  /** Resolves once `e` is settled, fetching it from its owner if borrowed. */
  settled(e: ObjEntry): Promise<ObjEntry> {
    if (e.state !== PENDING) return Promise.resolve(e);
    if (e.owned) return new Promise((resolve) => e.whenSettled(resolve));
    e.fetching ??= this.fetchInto(e);
    return e.fetching;
  }

  /**
   * An object's value for a task argument: read in place when it lives in the
   * object store (zero copies), else decoded. Rejects with the object's error.
   */
  async fetchValue(id: string, owner: string, at?: [number, string]): Promise<unknown> {
    const local = this.counter.objects.get(id);
    if (local && local.state !== PENDING) return this.read(local);
    if (owner === this.counter.home.address) {
      const e = local ?? this.droppedEntry(id, owner);
      await this.settled(e);
      return this.read(e);
    }
    const e = this.counter.entry(id, owner);
    e.localRefs++; // hold it while we read
    try {
      if (at) this.locate(e, at);
      await this.settled(e);
      return await this.read(e);
    } finally {
      e.localRefs--;
      this.counter.check(e);
      this.shell.drain();
    }
  }

  /**
   * Node `node` pulled a copy of owned object `id`: list it to later pullers. An
   * object this process no longer holds in the store is freed there at once.
   */
  addLocation(id: string, node: string): void {
    if (node === this.holder.store?.info.node) return; // the copy it pulled for itself
    const e = this.counter.objects.get(id);
    if (!e?.owned || e.state !== READY || e.stored === 0) {
      this.freeAt([node], [id]);
      return;
    }
    const list = this.copies.get(id);
    if (!list) this.copies.set(id, [node]);
    else if (!list.includes(node)) list.push(node);
  }

  /** Owned object `id` was freed: free the copies other nodes pulled, too. */
  freeCopies(id: string): void {
    const list = this.copies.get(id);
    if (!list) return;
    this.copies.delete(id);
    this.freeAt(list, [id]);
  }

  /** Send one StoreFree of `ids` to each of these node managers (best effort: a node that is gone took its store along). */
  freeAt(nodes: string[], ids: string[]): void {
    for (const node of nodes) {
      this.endpoint.connect(node).then(
        (c) => c.send({ t: Msg.StoreFree, ids }),
        () => undefined, // that node is gone, and its store with it
      );
    }
  }

  /** Answer a borrower's GetObject (waits while the object is pending). */
  serve(msg: GetObject): Promise<GetObjectReply> | GetObjectReply {
    const e = this.counter.objects.get(msg.id);
    if (!e?.owned)
      throw new OwnerDiedError(
        `object ${msg.id} is not known to its owner ${this.counter.home.prefix.slice(0, -1)} (already freed)`,
      );
    if (e.state !== PENDING) return this.replyFor(e, msg.store);
    return new Promise((resolve, reject) =>
      e.whenSettled((s) => Promise.resolve(this.replyFor(s, msg.store)).then(resolve, reject)),
    );
  }

  /**
   * The reply for a settled entry: where it lies when the requester shares this node's
   * store; for a requester on another node, the node managers holding a copy (its node
   * pulls it from one of them), or its bytes when this node cannot be reached by others.
   */
  private replyFor(
    e: ObjEntry,
    requesterStore: string | undefined,
  ): GetObjectReply | Promise<GetObjectReply> {
    const store = this.holder.store;
    if (!e.stored || requesterStore === undefined || !store || requesterStore === store.info.name)
      return replyOf(e);
    const node = store.info.node;
    if (node) return { d: EMPTY, e: false, s: e.stored, from: [node, ...(this.copies.get(e.id) ?? [])] };
    return store.readEncoded(e.id).then((d) => ({ d, e: e.state === FAILED }));
  }

  private async fetchInto(e: ObjEntry): Promise<ObjEntry> {
    try {
      const got = await this.fetchRaw(e.id, e.owner);
      e.stored = got.stored;
      e.settle(got.failed ? FAILED : READY, got.data);
    } catch (err) {
      e.settle(FAILED, errorCodec.encode(err));
    }
    return e;
  }

  /**
   * An object's encoded value from wherever it is (waits until its owner has it); a
   * value in the store is only located (`stored` = its size), not read.
   */
  private async fetchRaw(id: string, owner: string): Promise<Raw> {
    const local = this.counter.objects.get(id);
    if (local && local.state !== PENDING) return rawOf(local);
    if (owner === this.counter.home.address) {
      const e = local ?? this.droppedEntry(id, owner);
      await this.settled(e);
      return rawOf(e);
    }
    this.keepAlive.hold();
    try {
      let conn: Connection;
      try {
        conn = await this.endpoint.connect(owner);
      } catch (err) {
        throw new OwnerDiedError(`the owner of object ${id} (${owner}) is unreachable: it has died`, {
          cause: err,
        });
      }
      try {
        const reply = await conn.request({ t: Msg.GetObject, id, store: this.holder.store?.info.name });
        if (reply.from && reply.s !== undefined) {
          // Stored on other nodes: this node's store pulls a copy, read in place like any.
          await this.requireStore().pull(id, reply.s, owner, reply.from);
          return { data: EMPTY, failed: false, stored: reply.s };
        }
        return { data: reply.s ? EMPTY : detach(reply.d), failed: reply.e, stored: reply.s ?? 0 };
      } catch (err) {
        // A closed connection (a socket error such as ECONNRESET, or a plain close): the owner died.
        if (err instanceof RuntimeUnavailableError || conn.isClosed) {
          throw new OwnerDiedError(`the owner of object ${id} (${owner}) died before sending it`, {
            cause: err,
          });
        }
        throw err;
      }
    } finally {
      this.keepAlive.release();
    }
  }
}

function rawOf(e: ObjEntry): Raw {
  return { data: e.stored ? EMPTY : bytesOf(e), failed: e.state === FAILED, stored: e.stored };
}

function replyOf(e: ObjEntry): GetObjectReply {
  return e.stored ? { d: EMPTY, e: false, s: e.stored } : { d: bytesOf(e), e: e.state === FAILED };
}
