import type { StoreClient } from "../object-store/index.js";
import type { GetObject, GetObjectReply, ObjectMemoryInfo, WireValue } from "../protocol/index.js";
import type { StoreBlob } from "../serialization/index.js";
import type { Endpoint } from "../transport/index.js";
import { type Clock, realClock } from "../util/index.js";
import { inlineDeps, type PreparedArgs, prepareArgs } from "./call-args.js";
import { bytesOf } from "./entry-value.js";
import type { KeepAlive } from "./keep-alive.js";
import { ObjectFetcher } from "./object-fetcher.js";
import type { ObjectRef, OwnerHome, RefKey } from "./object-ref.js";
import { type ObjEntry, PENDING, READY } from "./object-table.js";
import { RefCounter } from "./ref-counter.js";
import { RefShell } from "./ref-shell.js";
import { CoreWorkerScope } from "./scope.js";
import type { DepList } from "./task-spec.js";
import { type ObjectSeqs, ValueStore } from "./value-store.js";

export type { PreparedArgs } from "./call-args.js";
export type { DepList } from "./task-spec.js";

/**
 * Objects as one process sees them, for CoreWorker: a thin facade over the parts —
 * the values ({@link ValueStore}: put, settle, get/wait), fetching from owners and
 * the store ({@link ObjectFetcher}), and reference counting (the pure
 * {@link RefCounter}, whose decisions {@link RefShell} carries out). Every event given
 * to the counter here is followed by a drain of its outbox.
 */
export class ObjectManager {
  private readonly counter: RefCounter;
  private readonly shell: RefShell;
  private readonly values: ValueStore;
  private readonly fetcher: ObjectFetcher;

  /**
   * @param clock times get() and wait() timeouts
   * @param seqs where owned object ids' numbers come from (default: one counter per process)
   * @param scope the scope of the core worker this serves (its refs report here, values it
   *   decodes bind theirs to it); a scope of its own when used alone
   */
  constructor(
    selfId: string,
    endpoint: Endpoint,
    keepAlive: KeepAlive,
    scope = new CoreWorkerScope(),
    clock: Clock = realClock,
    seqs?: ObjectSeqs,
  ) {
    // The address is known once the endpoint listens: read it then.
    const home: OwnerHome = {
      prefix: `${selfId}/`,
      get address() {
        return endpoint.listenAddress;
      },
      scope,
    };
    const counter = new RefCounter(home);
    // The parts refer to each other only through these closures (called after construction).
    const shell = new RefShell(counter, endpoint, keepAlive, (id) => {
      values.freeStored(id);
      fetcher.freeCopies(id);
    });
    const fetcher = new ObjectFetcher(counter, shell, endpoint, keepAlive, {
      get store(): StoreClient | undefined {
        return values.store;
      },
    });
    const values = new ValueStore(counter, shell, keepAlive, fetcher, clock, seqs);
    this.counter = counter;
    this.shell = shell;
    this.values = values;
    this.fetcher = fetcher;
    scope.refHooks = {
      created: (ref) => {
        counter.onRefInstance(ref);
        shell.drain();
      },
      released: (key) => {
        counter.onRefReleased(key);
        shell.drain();
      },
      storedAt: (ref) => {
        const e = counter.objects.forRef(ref);
        return e ? fetcher.storedAt(e) : undefined;
      },
      located: (ref, size, store) => {
        const e = counter.objects.forRef(ref);
        if (e) fetcher.locate(e, [size, store]);
      },
    };
  }

  /** Where this process's own objects live (shared by their refs and entries). */
  get home(): OwnerHome {
    return this.counter.home;
  }

  /** Number of objects tracked (owned + borrowed). */
  get size(): number {
    return this.counter.size;
  }

  /** Borrowed refs/handles created since the last collection (workers collect when idle). */
  get createdSinceGc(): number {
    return this.counter.createdSinceGc;
  }
  set createdSinceGc(n: number) {
    this.counter.createdSinceGc = n;
  }

  /** The node's object store (known once the node manager answered registration). */
  get store(): StoreClient | undefined {
    return this.values.store;
  }
  set store(s: StoreClient | undefined) {
    this.values.store = s;
  }

  /** Blocked-in-get notifications (workers lend their CPU while they wait). */
  get onBlock(): ((blocked: boolean) => void) | undefined {
    return this.values.onBlock;
  }
  set onBlock(f: ((blocked: boolean) => void) | undefined) {
    this.values.onBlock = f;
  }

  /** The entry for a ref this process holds, created if needed (see RefCounter.entry). */
  entry(id: string, owner: string): ObjEntry {
    const e = this.counter.entry(id, owner);
    this.shell.drain();
    return e;
  }

  /** The tracked entry of an owned object, if any. */
  owned(id: string): ObjEntry | undefined {
    return this.counter.owned(id);
  }

  /** [id, owner] of every ref-like value in `values` (ObjectRefs and counted actor handles). */
  keysOf(values: unknown[]): Array<[string, string]> {
    return this.counter.keysOf(values);
  }

  /** A ref instance (or handle) was created in this process. */
  onRefCreated(id: string, owner: string): void {
    this.counter.onRefCreated(id, owner);
    this.shell.drain();
  }

  /** A ref instance (or handle) was released or collected: its key (an actor handle's id). */
  onRefReleased(key: RefKey): void {
    this.counter.onRefReleased(key);
    this.shell.drain();
  }

  /** Keep refs sent to `peer` inside a return value alive until it sends Unpin. */
  pinFor(peer: string, keys: Array<[string, string]>): void {
    this.counter.pinFor(peer, keys);
    this.shell.drain();
  }

  /** The caller registered for refs we pinned for it. */
  /** The store client, or RuntimeUnavailableError when this process has none. */
  requireStore(): StoreClient {
    return this.fetcher.requireStore();
  }

  /** Free these objects' copies in the store of node `node` (another node's node manager). */
  freeCopiesAt(node: string, ids: string[]): void {
    this.fetcher.freeAt([node], ids);
  }

  /** AddObjectLocation: another node holds a copy of owned object `id` (see ObjectFetcher.addLocation). */
  onAddLocation(id: string, node: string): void {
    if (typeof id === "string" && typeof node === "string") this.fetcher.addLocation(id, node);
  }

  onUnpin(ids: string[], peer: string): void {
    this.counter.onUnpin(ids, peer);
    this.shell.drain();
  }

  /** A borrower registered (owner side). Returns the ids this owner no longer has. */
  onAddBorrower(ids: string[], peer: string): { missing: string[] } {
    const r = this.counter.onAddBorrower(ids, peer);
    this.shell.drain();
    return r;
  }

  /** A borrower holds these no more (owner side). */
  onRemoveBorrower(ids: string[], peer: string): void {
    this.counter.onRemoveBorrower(ids, peer);
    this.shell.drain();
  }

  /** A peer process is gone: drop its borrows and the pins kept for it. */
  onPeerGone(peer: string): void {
    this.counter.onPeerGone(peer);
    this.shell.drain();
  }

  /** Run `fn` once every registration sent so far is answered (at once if none is pending). */
  whenRegistered(fn: () => void): void {
    this.shell.whenRegistered(fn);
  }

  /** Allocate `n` consecutive owned object ids; returns the first sequence number. */
  allocate(n: number): number {
    return this.values.allocate(n);
  }

  /** Object id for a sequence number of this owner. */
  idFor(seq: number): string {
    return this.values.idFor(seq);
  }

  /** See ValueStore.createPending. */
  createPending(first: number, n: number, ids: string[], refs: ObjectRef<unknown>[]): ObjEntry {
    return this.values.createPending(first, n, ids, refs);
  }

  /** See ValueStore.put. */
  put(value: unknown): ObjectRef<unknown> | Promise<ObjectRef<unknown>> {
    return this.values.put(value);
  }

  /** Write an encoded large value under an id (a task return, owned by the caller). */
  storeBlob(id: string, blob: StoreBlob): Promise<void> {
    return this.values.storeBlob(id, blob);
  }

  /** Encode call arguments; every ref inside is lent to the call; top-level refs become deps. */
  prepareArgs(args: readonly unknown[], wire = false): PreparedArgs {
    return prepareArgs(this.counter, args, wire);
  }

  /**
   * Inline the values of owned, settled deps. Returns the encoded error of the
   * first failed dep (the call must fail with it), else undefined.
   */
  inlineDeps(deps: DepList | undefined): Uint8Array | undefined {
    return inlineDeps(this.counter, this.fetcher, deps);
  }

  /** Give back lent counts of a finished call. */
  unlend(entries: ObjEntry[] | undefined): void {
    if (!entries) return;
    this.counter.unlend(entries);
    this.shell.drain();
  }

  /** See ValueStore.settleOwned. */
  settleOwned(id: string, data: WireValue, nested?: Array<[string, string]>, stored = 0): void {
    this.values.settleOwned(id, data, nested, stored);
  }

  /** See ValueStore.failOwned. */
  failOwned(id: string, error: Uint8Array): void {
    this.values.failOwned(id, error);
  }

  /** Read values, in input order. Rejects with the first failed value's error, or GetTimeoutError. */
  get(refs: readonly ObjectRef<unknown>[], timeoutMs?: number): Promise<unknown[]> {
    return this.values.get(refs, timeoutMs);
  }

  /** Wait until `numReturns` refs are ready (or timeout); returns [ready, notReady] in input order. */
  wait(
    refs: readonly ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<[ObjectRef<unknown>[], ObjectRef<unknown>[]]> {
    return this.values.wait(refs, numReturns, timeoutMs);
  }

  /** See ObjectFetcher.fetchValue. */
  fetchValue(id: string, owner: string, at?: [number, string]): Promise<unknown> {
    return this.fetcher.fetchValue(id, owner, at);
  }

  /** Answer a borrower's GetObject (waits while the object is pending). */
  serve(msg: GetObject): Promise<GetObjectReply> | GetObjectReply {
    return this.fetcher.serve(msg);
  }

  /** Entries of this process, for `tsray memory`. */
  memoryInfo(): ObjectMemoryInfo[] {
    const out: ObjectMemoryInfo[] = [];
    const address = this.counter.home.address;
    for (const e of this.counter.objects.values()) {
      out.push({
        id: e.id,
        owner: e.owned ? address : e.owner,
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

  /** Stop: the ref hooks are removed and registration waiters dropped. */
  close(): void {
    this.home.scope.refHooks = undefined;
    this.shell.close();
  }
}
