import { GetTimeoutError } from "../errors/index.js";
import type { StoreClient } from "../object-store/index.js";
import type { WireValue } from "../protocol/index.js";
import {
  classesSettled,
  decode,
  encodeValue,
  errorCodec,
  isWirePrimitive,
  type StoreBlob,
} from "../serialization/index.js";
import { type Clock, realClock, type Timer } from "../util/index.js";
import { EMPTY, inlineValue } from "./entry-value.js";
import type { KeepAlive } from "./keep-alive.js";
import type { ObjectFetcher } from "./object-fetcher.js";
import { ObjectRef, uncountedRef } from "./object-ref.js";
import { detach, FAILED, ObjEntry, PENDING, READY } from "./object-table.js";
import type { RefCounter } from "./ref-counter.js";
import type { RefShell } from "./ref-shell.js";

/**
 * Sequence numbers of owned objects, for every core worker this process runs in turn
 * (init, shutdown, init): a ref of an earlier session reports its number when it is
 * collected, and must not match an object of a later one.
 */
const processObjectSeqs: ObjectSeqs = { next: 1 };

/** Where owned objects' sequence numbers come from (shared by the core workers that use it). */
export interface ObjectSeqs {
  next: number;
}

/**
 * The values of one process: owned objects are created (put, task returns) and
 * settled here, and get/wait wait on entries (borrowed ones are fetched through the
 * {@link ObjectFetcher}). Ref counting decides when an entry goes ({@link RefCounter});
 * every count change here is followed by a drain of its outbox.
 */
export class ValueStore {
  /** The node's object store (known once the node manager answered registration). */
  store: StoreClient | undefined;
  /** Blocked-in-get notifications (workers lend their CPU while they wait). */
  onBlock: ((blocked: boolean) => void) | undefined;
  private storeFrees: string[] = [];

  constructor(
    private readonly counter: RefCounter,
    private readonly shell: RefShell,
    private readonly keepAlive: KeepAlive,
    private readonly fetcher: ObjectFetcher,
    /** Times get() and wait() timeouts. */
    private readonly clock: Clock = realClock,
    /** The process's by default; a simulation gives each run its own, so ids do not depend on earlier runs. */
    private readonly seqs: ObjectSeqs = processObjectSeqs,
  ) {}

  /** Allocate `n` consecutive owned object ids; returns the first sequence number. */
  allocate(n: number): number {
    const first = this.seqs.next;
    this.seqs.next += n;
    return first;
  }

  /** Object id for a sequence number of this owner. */
  idFor(seq: number): string {
    // Built where an id must travel or name a store object: own refs and entries keep only `seq`.
    return this.counter.home.prefix + seq;
  }

  /**
   * Create `n` pending owned entries (task and call returns) with one local ref each:
   * their ids go to `ids`, the refs to `refs`. Returns the first entry.
   */
  createPending(first: number, n: number, ids: string[], refs: ObjectRef<unknown>[]): ObjEntry {
    const home = this.counter.home;
    const objects = this.counter.objects;
    let firstEntry: ObjEntry | undefined;
    for (let k = 0; k < n; k++) {
      const seq = first + k;
      const e = new ObjEntry(seq, true, home);
      e.localRefs = 1;
      objects.add(e);
      ids.push(this.idFor(seq));
      refs.push(uncountedRef(seq, home));
      firstEntry ??= e;
    }
    this.counter.createdSinceGc += n;
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
    const home = this.counter.home;
    const e = new ObjEntry(seq, true, home);
    this.counter.objects.add(e);
    if (isWirePrimitive(value)) {
      e.settleValue(value);
      return new ObjectRef(seq, home);
    }
    const refs: unknown[] = [];
    const encoded = encodeValue(value, refs);
    if (refs.length > 0) {
      this.counter.setContains(e, this.counter.keysOf(refs));
      this.shell.drain();
    }
    if (encoded instanceof Uint8Array) {
      e.state = READY;
      e.data = encoded;
      return new ObjectRef(seq, home);
    }
    const ref = new ObjectRef(seq, home);
    this.keepAlive.hold();
    this.flushStoreFrees(); // free first, so a put loop reuses the block it just released
    return this.fetcher
      .requireStore()
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

  /** Write an encoded large value under an id (a task return, owned by the caller). */
  storeBlob(id: string, blob: StoreBlob): Promise<void> {
    return this.fetcher.requireStore().put(id, blob);
  }

  /** An owned object's copy in the store is freed there too (batched per tick). */
  freeStored(id: string): void {
    if (!this.store) return;
    this.storeFrees.push(id);
    if (this.storeFrees.length === 1) queueMicrotask(() => this.flushStoreFrees());
  }

  private flushStoreFrees(): void {
    if (this.storeFrees.length === 0) return;
    const ids = this.storeFrees;
    this.storeFrees = [];
    this.store?.free(ids);
  }

  /**
   * Settle an owned object (a task return) with its value: encoded bytes or a wire
   * primitive. `nested` are refs inside the value: they stay alive while this object
   * does (the caller unpins once registered for them). Failures go through failOwned,
   * never here: a value read back is a value.
   */
  settleOwned(id: string, data: WireValue, nested?: Array<[string, string]>, stored = 0): void {
    const counter = this.counter;
    const e = counter.objects.get(id);
    if (!e) {
      // Dropped before it finished (the task's refs were released): still account for nested refs.
      const seq = counter.objects.seqOf(id);
      const gone =
        seq >= 0 ? new ObjEntry(seq, true, counter.home) : new ObjEntry(id, true, counter.home.address);
      gone.stored = stored;
      if (nested) counter.setContains(gone, nested, true);
      else if (stored) counter.free(gone);
      this.shell.drain();
      return;
    }
    e.stored = stored;
    if (!(data instanceof Uint8Array)) e.settleValue(data);
    else e.settle(READY, stored ? EMPTY : detach(data));
    if (nested) counter.setContains(e, nested);
    counter.check(e);
    this.shell.drain();
  }

  /**
   * Fail an owned object (a task return) with an encoded error: every read of it
   * rejects with that error. Anything else passed as the error (an Error object that
   * slipped past the types) is encoded here: it must never settle as a value.
   */
  failOwned(id: string, error: Uint8Array): void {
    const e = this.counter.objects.get(id);
    if (!e) return; // dropped before it finished: nothing nested, nothing stored
    e.settle(FAILED, error instanceof Uint8Array ? detach(error) : errorCodec.encode(error));
    this.counter.check(e);
    this.shell.drain();
  }

  /** Read values, in input order. Rejects with the first failed value's error, or GetTimeoutError. */
  get(refs: readonly ObjectRef<unknown>[], timeoutMs?: number): Promise<unknown[]> {
    const objects = this.counter.objects;
    const out = new Array<unknown>(refs.length);
    let missing: number[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const e = objects.forRef(refs[i]!);
      if (e && e.state !== PENDING) {
        if (e.state === FAILED) return Promise.reject(errorCodec.decode(e.data!));
        if (e.stored) (missing ??= []).push(i);
        else out[i] = e.hasValue ? e.value : decode(e.data!, this.counter.home.scope);
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
        out[missing[k]!] = e.stored
          ? await this.fetcher.requireStore().get(e.id)
          : inlineValue(e, this.counter.home.scope);
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
      let timer: Timer | undefined;
      const one = () => {
        if (--left === 0) {
          this.clock.clearTimer(timer);
          resolve();
        }
      };
      for (const e of entries) {
        if (e.state !== PENDING) continue;
        left++;
        e.whenSettled(one);
        if (!e.owned) void this.fetcher.settled(e);
      }
      if (left === 0) {
        resolve();
        return;
      }
      if (timeoutMs !== undefined) {
        timer = this.clock.setTimeout(() => {
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
          let timer: Timer | undefined;
          const onOne = () => {
            if (++ready >= numReturns) done();
          };
          const done = () => {
            this.clock.clearTimer(timer);
            for (const e of entries) e.removeWaiter(onOne);
            resolve();
          };
          for (const e of entries) {
            if (e.state !== PENDING) continue;
            e.whenSettled(onOne);
            if (!e.owned) void this.fetcher.settled(e);
          }
          if (timeoutMs !== undefined) timer = this.clock.setTimeout(done, timeoutMs);
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

  /** The tracked entry a ref stands for, or a settled stand-in when it was dropped here. */
  private entryFor(ref: ObjectRef<unknown>): ObjEntry {
    return this.counter.objects.forRef(ref) ?? this.fetcher.droppedEntry(ref.id, ref.ownerAddress);
  }
}

function describeTimeout(refs: readonly ObjectRef<unknown>[], missing: number[], ms: number): string {
  const ids = missing.slice(0, 3).map((i) => refs[i]!.id);
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  return `get timed out after ${ms} ms waiting for ${missing.length} of ${refs.length} object(s): ${ids.join(", ")}${more}`;
}
