import { GetTimeoutError, OwnerDiedError, RuntimeUnavailableError } from "../errors/index.js";
import type { StoreClient } from "../object-store/index.js";
import {
  type DepTuple,
  type GetObject,
  type GetObjectReply,
  Msg,
  type ObjectMemoryInfo,
  type WireValue,
} from "../protocol/index.js";
import {
  classesSettled,
  decode,
  encode,
  encodeValue,
  errorCodec,
  isWirePrimitive,
  type StoreBlob,
} from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import type { KeepAlive } from "./keep-alive.js";
import { ObjectRef, setRefHooks, uncountedRef } from "./object-ref.js";
import {
  detach,
  FAILED,
  ObjEntry,
  PENDING,
  READY,
  REGISTERED,
  REGISTERING,
  UNREGISTERED,
} from "./object-table.js";
import { RefCounter } from "./ref-counter.js";

/** Top-level ref arguments of a call: [index, id, owner, inline value or null]. */
export type DepList = DepTuple[];

/** Encoded arguments of a task, actor call or actor creation. */
export interface PreparedArgs {
  /** Encoded argument array, or the primitive arguments themselves (see prepareArgs). */
  data: Uint8Array | WireValue[];
  deps: DepList | undefined;
  /** Entries lent to the call (their lent counts were raised; give back with unlend). */
  lent: ObjEntry[] | undefined;
  /** Owned dependencies still pending. */
  pending: ObjEntry[] | undefined;
}

/**
 * Objects as one process sees them: the ones it owns (puts, task returns) and the
 * ones it borrows. Resolves get/wait, serves owned values to borrowers, and counts
 * references (with RefCounter) so objects are freed once nobody can reach them.
 */
export class ObjectManager extends RefCounter {
  /** Blocked-in-get notifications (workers lend their CPU while they wait). */
  onBlock: ((blocked: boolean) => void) | undefined;

  constructor(selfId: string, endpoint: Endpoint, keepAlive: KeepAlive) {
    super(selfId, endpoint, keepAlive);
    setRefHooks({
      created: (ref) => this.onRefInstance(ref),
      released: (key) => this.onRefReleased(key),
      storedAt: (ref) => {
        const e = this.objects.forRef(ref);
        return e ? this.storedAt(e) : undefined;
      },
      located: (ref, size, store) => {
        const e = this.objects.forRef(ref);
        if (e) this.locate(e, [size, store]);
      },
    });
  }

  /** [size, store name] of an owned value sealed in this node's store, for readers to go there directly. */
  private storedAt(e: ObjEntry): [number, string] | undefined {
    if (!e.owned || e.state !== READY || e.stored === 0 || !this.store) return undefined;
    return [e.stored, this.store.info.name];
  }

  /**
   * The sender said a borrowed object's value sits sealed in store `at[1]`: settle it as
   * stored, so it is read in place without asking its owner. Only a store on this node,
   * and only an entry nobody settled or asked for yet. The sender's ref keeps the object
   * alive (lent, pinned or contained) until this process registered, so it is still
   * there; spilled, the store restores it on read.
   */
  private locate(e: ObjEntry, at: [number, string]): void {
    if (at[1] !== this.store?.info.name || e.owned || e.state !== PENDING || e.fetching) return;
    e.stored = at[0];
    e.settle(READY, EMPTY);
  }

  /** Allocate `n` consecutive owned object ids; returns the first sequence number. */
  allocate(n: number): number {
    const first = nextObject;
    nextObject += n;
    return first;
  }

  /** Object id for a sequence number of this owner. */
  idFor(seq: number): string {
    // Built where an id must travel or name a store object: own refs and entries keep only `seq`.
    return this.home.prefix + seq;
  }

  /**
   * Create `n` pending owned entries (task and call returns) with one local ref each:
   * their ids go to `ids`, the refs to `refs`. Returns the first entry.
   */
  createPending(first: number, n: number, ids: string[], refs: ObjectRef<unknown>[]): ObjEntry {
    let firstEntry: ObjEntry | undefined;
    for (let k = 0; k < n; k++) {
      const seq = first + k;
      const e = new ObjEntry(seq, true, this.home);
      e.localRefs = 1;
      this.objects.add(e);
      ids.push(this.idFor(seq));
      refs.push(uncountedRef(seq, this.home));
      firstEntry ??= e;
    }
    this.createdSinceGc += n;
    return firstEntry!;
  }

  /**
   * Store a value owned by this process and return its ref. Refs inside the value stay
   * alive with it. Large values go to the node's shared-memory store: then the ref
   * comes back in a promise, once the value is written (do not change the value
   * until then). Throws SerializationError / rejects with ObjectStoreFullError.
   */
  put(value: unknown): ObjectRef<unknown> | Promise<ObjectRef<unknown>> {
    const seq = this.allocate(1);
    const e = new ObjEntry(seq, true, this.home);
    this.objects.add(e);
    if (isWirePrimitive(value)) {
      e.settleValue(value);
      return new ObjectRef(seq, this.home);
    }
    const refs: unknown[] = [];
    const encoded = encodeValue(value, refs);
    if (refs.length > 0) this.setContains(e, this.keysOf(refs));
    if (encoded instanceof Uint8Array) {
      e.state = READY;
      e.data = encoded;
      return new ObjectRef(seq, this.home);
    }
    const ref = new ObjectRef(seq, this.home);
    this.keepAlive.hold();
    this.flushStoreFrees(); // free first, so a put loop reuses the block it just released
    return this.requireStore()
      .put(this.idFor(seq), encoded)
      .then(
        () => {
          e.stored = encoded.size;
          e.settle(READY, EMPTY);
          return ref;
        },
        (err: unknown) => {
          e.settle(FAILED, errorCodec.encode(err));
          throw err;
        },
      )
      .finally(() => this.keepAlive.release());
  }

  /** The node's object store (known once the node manager answered registration). */
  store: StoreClient | undefined;

  private requireStore(): StoreClient {
    if (!this.store)
      throw new RuntimeUnavailableError("this process has no object store (not registered with a node)");
    return this.store;
  }

  /** Write an encoded large value under an id (a task return, owned by the caller). */
  storeBlob(id: string, blob: StoreBlob): Promise<void> {
    return this.requireStore().put(id, blob);
  }

  /** Encode call arguments; every ref inside is lent to the call; top-level refs become deps. */
  prepareArgs(args: readonly unknown[], wire = false): PreparedArgs {
    if (args.length === 0) return { data: NO_ARGS, deps: undefined, lent: undefined, pending: undefined };
    if (wire && args.length <= 16 && args.every(isWirePrimitive)) {
      // Primitive arguments travel as themselves in the envelope: no encode, no decode.
      return { data: args as WireValue[], deps: undefined, lent: undefined, pending: undefined };
    }
    let deps: DepList | undefined;
    let pending: ObjEntry[] | undefined;
    let plain: readonly unknown[] = args;
    const lent: ObjEntry[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!(a instanceof ObjectRef)) continue;
      if (plain === args) plain = args.slice();
      (plain as unknown[])[i] = undefined;
      const id = a.id;
      (deps ??= []).push([i, id, a.ownerAddress, null]);
      const e = this.objects.forRef(a) ?? this.entry(id, a.ownerAddress);
      if (e.owned && e.state === PENDING) (pending ??= []).push(e);
      lent.push(e);
    }
    const inside: unknown[] = [];
    const data = encode(plain, inside);
    for (const [id, owner] of this.keysOf(inside)) lent.push(this.entry(id, owner));
    for (const e of lent) e.lent++;
    return { data, deps, lent: lent.length > 0 ? lent : undefined, pending };
  }

  /**
   * Inline the values of owned, settled deps. Returns the encoded error of the
   * first failed dep (the call must fail with it), else undefined.
   */
  inlineDeps(deps: DepList | undefined): Uint8Array | undefined {
    if (!deps) return undefined;
    for (const d of deps) {
      const e = this.objects.get(d[1]);
      if (!e?.owned || e.state === PENDING) continue;
      if (e.state === FAILED) return e.data!;
      if (!e.stored) d[3] = bytesOf(e);
      else {
        const at = this.storedAt(e); // read in place by the executor
        if (at) d[4] = at;
      }
    }
    return undefined;
  }

  /** Give back lent counts of a finished call. */
  unlend(entries: ObjEntry[] | undefined): void {
    if (!entries) return;
    for (const e of entries) {
      e.lent--;
      this.check(e);
    }
  }

  /**
   * Settle an owned object (a task return) with its value: encoded bytes or a wire
   * primitive. `nested` are refs inside the value: they stay alive while this object
   * does; resolves once this process is registered for them (the worker then drops
   * its pins). Failures go through failOwned, never here: a value read back is a value.
   */
  settleOwned(id: string, data: WireValue, nested?: Array<[string, string]>, stored = 0): void {
    const e = this.objects.get(id);
    if (!e) {
      // Dropped before it finished (the task's refs were released): still account for nested refs.
      const seq = this.objects.seqOf(id);
      const gone = seq >= 0 ? new ObjEntry(seq, true, this.home) : new ObjEntry(id, true, this.address);
      gone.stored = stored;
      if (nested) this.setContains(gone, nested, true);
      else if (stored) this.free(gone);
      return;
    }
    e.stored = stored;
    if (!(data instanceof Uint8Array)) e.settleValue(data);
    else e.settle(READY, stored ? EMPTY : detach(data));
    if (nested) this.setContains(e, nested);
    this.check(e);
  }

  /**
   * Fail an owned object (a task return) with an encoded error: every read of it
   * rejects with that error. Anything else passed as the error (an Error object that
   * slipped past the types) is encoded here: it must never settle as a value.
   */
  failOwned(id: string, error: Uint8Array): void {
    const e = this.objects.get(id);
    if (!e) return; // dropped before it finished: nothing nested, nothing stored
    e.settle(FAILED, error instanceof Uint8Array ? detach(error) : errorCodec.encode(error));
    this.check(e);
  }

  /** Read values, in input order. Rejects with the first failed value's error, or GetTimeoutError. */
  get(refs: readonly ObjectRef<unknown>[], timeoutMs?: number): Promise<unknown[]> {
    const out = new Array<unknown>(refs.length);
    let missing: number[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const e = this.objects.forRef(refs[i]!);
      if (e && e.state !== PENDING) {
        if (e.state === FAILED) return Promise.reject(errorCodec.decode(e.data!));
        if (e.stored) (missing ??= []).push(i);
        else out[i] = e.hasValue ? e.value : decode(e.data!);
      } else {
        (missing ??= []).push(i);
      }
    }
    if (!missing) {
      // Instances of classes whose module this process has not imported yet get their class first.
      const classes = classesSettled();
      return classes ? classes.then(() => out) : Promise.resolve(out);
    }
    return this.waitAndRead(refs, out, missing, timeoutMs);
  }

  /** The value of a settled entry: decoded bytes, or read in place from the object store. */
  private read(e: ObjEntry): unknown {
    if (e.state === FAILED) throw errorCodec.decode(e.data!);
    return e.stored ? this.requireStore().get(e.id) : inlineValue(e);
  }

  private async waitAndRead(
    refs: readonly ObjectRef<unknown>[],
    out: unknown[],
    missing: number[],
    timeoutMs: number | undefined,
  ): Promise<unknown[]> {
    const entries = missing.map((i) => this.entryFor(refs[i]!));
    this.keepAlive.hold();
    try {
      // Only a wait for values not there yet lends the task's CPU back (a message to
      // the node manager each way): values already settled in the store are just read.
      if (entries.some((e) => e.state === PENDING)) {
        this.onBlock?.(true);
        try {
          await this.allSettled(entries, timeoutMs, () => describeTimeout(refs, missing, timeoutMs!));
        } finally {
          this.onBlock?.(false);
        }
      }
      for (let k = 0; k < missing.length; k++) {
        const e = entries[k]!;
        if (e.state === FAILED) throw errorCodec.decode(e.data!);
        out[missing[k]!] = e.stored ? await this.requireStore().get(e.id) : inlineValue(e);
      }
      await classesSettled();
      return out;
    } finally {
      this.keepAlive.release();
    }
  }

  /** One promise for many entries (no promise per entry): resolves when all settled, rejects on timeout. */
  private allSettled(
    entries: ObjEntry[],
    timeoutMs: number | undefined,
    describe: () => string,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let left = 0;
      let timer: NodeJS.Timeout | undefined;
      const one = () => {
        if (--left === 0) {
          if (timer) clearTimeout(timer);
          resolve();
        }
      };
      for (const e of entries) {
        if (e.state !== PENDING) continue;
        left++;
        e.whenSettled(one);
        if (!e.owned) void this.settled(e);
      }
      if (left === 0) {
        resolve();
        return;
      }
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          for (const e of entries) e.removeWaiter(one);
          reject(new GetTimeoutError(describe()));
        }, timeoutMs);
      }
    });
  }

  /** Wait until `numReturns` refs are ready (or timeout); returns [ready, notReady] in input order. */
  async wait(
    refs: readonly ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<[ObjectRef<unknown>[], ObjectRef<unknown>[]]> {
    const entries = refs.map((r) => this.entryFor(r));
    let ready = 0;
    for (const e of entries) if (e.state !== PENDING) ready++;
    if (ready < numReturns && timeoutMs !== 0) {
      this.keepAlive.hold();
      this.onBlock?.(true);
      try {
        await new Promise<void>((resolve) => {
          let timer: NodeJS.Timeout | undefined;
          const onOne = () => {
            if (++ready >= numReturns) done();
          };
          const done = () => {
            if (timer) clearTimeout(timer);
            for (const e of entries) e.removeWaiter(onOne);
            resolve();
          };
          for (const e of entries) {
            if (e.state !== PENDING) continue;
            e.whenSettled(onOne);
            if (!e.owned) void this.settled(e);
          }
          if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
        });
      } finally {
        this.onBlock?.(false);
        this.keepAlive.release();
      }
    }
    const readyRefs: ObjectRef<unknown>[] = [];
    const notReady: ObjectRef<unknown>[] = [];
    for (let i = 0; i < refs.length; i++) {
      if (entries[i]!.state !== PENDING && readyRefs.length < numReturns) readyRefs.push(refs[i]!);
      else notReady.push(refs[i]!);
    }
    return [readyRefs, notReady];
  }

  private entryFor(ref: ObjectRef<unknown>): ObjEntry {
    return this.objects.forRef(ref) ?? this.droppedEntry(ref.id, ref.ownerAddress);
  }

  /**
   * An untracked entry for an id whose entry was dropped (its refs were released
   * here): the value is not reachable any more.
   */
  private droppedEntry(id: string, owner: string): ObjEntry {
    const e = new ObjEntry(id, owner === this.address, owner);
    if (e.owned) e.settle(FAILED, encode(new OwnerDiedError(`object ${id} was already freed by its owner`)));
    return e;
  }

  /** Resolves once `e` is settled, fetching it from its owner if borrowed. */
  private settled(e: ObjEntry): Promise<ObjEntry> {
    if (e.state !== PENDING) return Promise.resolve(e);
    if (e.owned) return new Promise((resolve) => e.whenSettled(resolve));
    e.fetching ??= this.fetchInto(e);
    return e.fetching;
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
  private async fetchRaw(
    id: string,
    owner: string,
  ): Promise<{ data: Uint8Array; failed: boolean; stored: number }> {
    const local = this.objects.get(id);
    if (local && local.state !== PENDING) return rawOf(local);
    if (owner === this.address) {
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
        const reply = await conn.request({ t: Msg.GetObject, id });
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

  /**
   * An object's value for a task argument: read in place when it lives in the
   * object store (zero copies), else decoded. Rejects with the object's error.
   */
  async fetchValue(id: string, owner: string, at?: [number, string]): Promise<unknown> {
    const local = this.objects.get(id);
    if (local && local.state !== PENDING) return this.read(local);
    if (owner === this.address) {
      const e = local ?? this.droppedEntry(id, owner);
      await this.settled(e);
      return this.read(e);
    }
    const e = this.entry(id, owner);
    e.localRefs++; // hold it while we read
    try {
      if (at) this.locate(e, at);
      await this.settled(e);
      return await this.read(e);
    } finally {
      e.localRefs--;
      this.check(e);
    }
  }

  /** Answer a borrower's GetObject (waits while the object is pending). */
  serve(msg: GetObject): Promise<GetObjectReply> | GetObjectReply {
    const e = this.objects.get(msg.id);
    if (!e?.owned)
      throw new OwnerDiedError(`object ${msg.id} is not known to its owner ${this.selfId} (already freed)`);
    if (e.state !== PENDING) return replyOf(e);
    return new Promise((resolve) => e.whenSettled((s) => resolve(replyOf(s))));
  }

  /** Owned objects in the store are freed there too (batched per tick). */
  protected override free(e: ObjEntry): void {
    super.free(e);
    if (!e.owned || !e.stored || !this.store) return;
    this.storeFrees.push(e.id);
    if (this.storeFrees.length === 1) queueMicrotask(() => this.flushStoreFrees());
  }
  private storeFrees: string[] = [];

  private flushStoreFrees(): void {
    if (this.storeFrees.length === 0) return;
    const ids = this.storeFrees;
    this.storeFrees = [];
    this.store?.free(ids);
  }

  /** Entries of this process, for `tsray memory`. */
  memoryInfo(): ObjectMemoryInfo[] {
    const out: ObjectMemoryInfo[] = [];
    for (const e of this.objects.values()) {
      out.push({
        id: e.id,
        owner: e.owned ? this.address : e.owner,
        size: e.stored || (e.state === PENDING ? 0 : bytesOf(e).byteLength),
        state: e.state === PENDING ? "PENDING" : e.state === READY ? "READY" : "FAILED",
        localRefs: e.localRefs,
        lent: e.lent,
        pins: e.pins,
        containedIn: e.containedIn,
        borrowers: e.borrowers ? [...e.borrowers] : [],
      });
    }
    return out;
  }

  override close(): void {
    setRefHooks(undefined);
    super.close();
  }
}

const EMPTY = new Uint8Array(0);
/**
 * Sequence numbers of owned objects, for every core worker this process runs in turn
 * (init, shutdown, init): a ref of an earlier session reports its number when it is
 * collected, and must not match an object of a later one.
 */
let nextObject = 1;
/** The encoding of an empty argument list (shared: nothing ever writes into it). */
const NO_ARGS = encode([]);

function rawOf(e: ObjEntry): { data: Uint8Array; failed: boolean; stored: number } {
  return { data: e.stored ? EMPTY : bytesOf(e), failed: e.state === FAILED, stored: e.stored };
}

/** The value of a settled, not stored entry (a fresh copy unless it is a primitive). */
function inlineValue(e: ObjEntry): unknown {
  return e.hasValue ? e.value : decode(e.data!);
}

/**
 * The encoded bytes of a settled, not stored entry. Primitives are encoded on demand
 * and not kept: a held primitive costs no bytes (cheap to encode again).
 */
function bytesOf(e: ObjEntry): Uint8Array {
  return e.hasValue || e.data === undefined ? encode(e.value) : e.data;
}

function replyOf(e: ObjEntry): GetObjectReply {
  return e.stored ? { d: EMPTY, e: false, s: e.stored } : { d: bytesOf(e), e: e.state === FAILED };
}

function describeTimeout(refs: readonly ObjectRef<unknown>[], missing: number[], ms: number): string {
  const ids = missing.slice(0, 3).map((i) => refs[i]!.id);
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  return `get timed out after ${ms} ms waiting for ${missing.length} of ${refs.length} object(s): ${ids.join(", ")}${more}`;
}

export { REGISTERED, REGISTERING, UNREGISTERED };
