import { GetTimeoutError, OwnerDiedError, RuntimeUnavailableError } from "../errors/index.js";
import { type GetObject, type GetObjectReply, Msg } from "../protocol/index.js";
import { decode, encode, errorCodec } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import type { KeepAlive } from "./keep-alive.js";
import { ObjectRef, setRefHooks } from "./object-ref.js";
import { detach, FAILED, ObjEntry, PENDING, READY } from "./object-table.js";

/** Top-level ref arguments of a call: [index, id, owner, inline value or null]. */
export type DepList = Array<[number, string, string, Uint8Array | null]>;

/** Encoded arguments of a task, actor call or actor creation. */
export interface PreparedArgs {
  data: Uint8Array;
  deps: DepList | undefined;
  /** Owned objects lent to the call (their lent counts were raised). */
  lent: import("./object-table.js").ObjEntry[] | undefined;
  /** Owned dependencies still pending. */
  pending: import("./object-table.js").ObjEntry[] | undefined;
}

/**
 * Objects as one process sees them: the ones it owns (puts, task returns) and
 * copies of borrowed ones it fetched from their owners. Resolves get/wait, serves
 * owned values to borrowers, and drops entries nobody here references any more.
 */
export class ObjectManager {
  private readonly objects = new Map<string, ObjEntry>();
  private nextObject = 1;
  /** Blocked-in-get notifications (workers lend their CPU while they wait). */
  onBlock: ((blocked: boolean) => void) | undefined;

  constructor(
    private readonly selfId: string,
    private readonly endpoint: Endpoint,
    private readonly keepAlive: KeepAlive,
  ) {
    setRefHooks({ created: (ref) => this.onRefCreated(ref), released: (id) => this.onRefReleased(id) });
  }

  private get address(): string {
    return this.endpoint.listenAddress;
  }

  /** Number of objects tracked (owned + borrowed copies). */
  get size(): number {
    return this.objects.size;
  }

  /** Allocate `n` consecutive owned object ids; returns the first sequence number. */
  allocate(n: number): number {
    const first = this.nextObject;
    this.nextObject += n;
    return first;
  }

  /** Object id for a sequence number of this owner. */
  idFor(seq: number): string {
    return `${this.selfId}/${seq}`;
  }

  /** Create pending owned entries and their refs (task and call returns). */
  createPending(first: number, n: number): { ids: string[]; refs: ObjectRef<unknown>[] } {
    const ids: string[] = [];
    const refs: ObjectRef<unknown>[] = [];
    for (let k = 0; k < n; k++) {
      const id = this.idFor(first + k);
      ids.push(id);
      this.objects.set(id, new ObjEntry(id, true, this.address));
      refs.push(new ObjectRef(id, this.address));
    }
    return { ids, refs };
  }

  /** Store a value owned by this process and return its ref. */
  put(value: unknown): ObjectRef<unknown> {
    const refs: unknown[] = [];
    const data = encode(value, refs);
    if (refs.length > 0) this.markEscaped(refs);
    const id = this.idFor(this.allocate(1));
    const e = new ObjEntry(id, true, this.address);
    e.state = READY;
    e.data = data;
    this.objects.set(id, e);
    return new ObjectRef(id, this.address);
  }

  /** Encode call arguments; top-level refs become deps (inlined later when owned and ready). */
  prepareArgs(args: readonly unknown[]): PreparedArgs {
    let deps: DepList | undefined;
    let lent: ObjEntry[] | undefined;
    let pending: ObjEntry[] | undefined;
    let plain: readonly unknown[] = args;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!(a instanceof ObjectRef)) continue;
      if (plain === args) plain = args.slice();
      (plain as unknown[])[i] = undefined;
      (deps ??= []).push([i, a.id, a.ownerAddress, null]);
      const e = this.objects.get(a.id);
      if (e?.owned) {
        e.lent++;
        (lent ??= []).push(e);
        if (e.state === PENDING) (pending ??= []).push(e);
      }
    }
    const inside: unknown[] = [];
    const data = encode(plain, inside);
    if (inside.length > 0) this.markEscaped(inside);
    return { data, deps, lent, pending };
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
      d[3] = e.data!;
    }
    return undefined;
  }

  /** Give back lent counts of a finished call. */
  unlend(entries: ObjEntry[] | undefined): void {
    if (!entries) return;
    for (const e of entries) {
      e.lent--;
      this.maybeFree(e);
    }
  }

  /** Settle an owned object (a task return). */
  settleOwned(id: string, state: typeof READY | typeof FAILED, data: Uint8Array): void {
    const e = this.objects.get(id);
    if (!e) return;
    e.settle(state, detach(data));
    this.maybeFree(e);
  }

  /** Read values, in input order. Rejects with the first failed value's error, or GetTimeoutError. */
  get(refs: readonly ObjectRef<unknown>[], timeoutMs?: number): Promise<unknown[]> {
    const out = new Array<unknown>(refs.length);
    let missing: number[] | undefined;
    for (let i = 0; i < refs.length; i++) {
      const e = this.objects.get(refs[i]!.id);
      if (e && e.state !== PENDING) {
        if (e.state === FAILED) return Promise.reject(decode(e.data!));
        out[i] = decode(e.data!);
      } else {
        (missing ??= []).push(i);
      }
    }
    if (!missing) return Promise.resolve(out);
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
    this.onBlock?.(true);
    try {
      await this.allSettled(entries, timeoutMs, () => describeTimeout(refs, missing, timeoutMs!));
    } finally {
      this.onBlock?.(false);
      this.keepAlive.release();
    }
    for (let k = 0; k < missing.length; k++) {
      const e = entries[k]!;
      if (e.state === FAILED) throw decode(e.data!);
      out[missing[k]!] = decode(e.data!);
    }
    return out;
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

  /** The entry of an owned object (for dependency waits), if tracked. */
  owned(id: string): ObjEntry | undefined {
    const e = this.objects.get(id);
    return e?.owned ? e : undefined;
  }

  private entryFor(ref: ObjectRef<unknown>): ObjEntry {
    let e = this.objects.get(ref.id);
    if (!e) {
      e = new ObjEntry(ref.id, ref.ownerAddress === this.address, ref.ownerAddress);
      this.objects.set(ref.id, e);
      if (e.owned)
        e.settle(FAILED, encode(new OwnerDiedError(`object ${ref.id} was already freed by its owner`)));
    }
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
      const got = await this.fetch(e.id, e.owner);
      e.settle(got.failed ? FAILED : READY, got.data);
    } catch (err) {
      e.settle(FAILED, errorCodec.encode(err));
    }
    return e;
  }

  /** An object's encoded value from wherever it is (waits until its owner has it). */
  async fetch(id: string, owner: string): Promise<{ data: Uint8Array; failed: boolean }> {
    const local = this.objects.get(id);
    if (local && local.state !== PENDING) return { data: local.data!, failed: local.state === FAILED };
    if (owner === this.address) {
      const e = this.entryFor({ id, ownerAddress: owner } as ObjectRef<unknown>);
      await this.settled(e);
      return { data: e.data!, failed: e.state === FAILED };
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
        const reply = await conn.request<GetObjectReply>({ t: Msg.GetObject, id });
        return { data: detach(reply.d), failed: reply.e };
      } catch (err) {
        if (err instanceof RuntimeUnavailableError) {
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

  /** Answer a borrower's GetObject (waits while the object is pending). */
  serve(msg: GetObject): Promise<GetObjectReply> | GetObjectReply {
    const e = this.objects.get(msg.id);
    if (!e?.owned)
      throw new OwnerDiedError(`object ${msg.id} is not known to its owner ${this.selfId} (already freed)`);
    if (e.state !== PENDING) return { d: e.data!, e: e.state === FAILED };
    return new Promise((resolve) => e.whenSettled((s) => resolve({ d: s.data!, e: s.state === FAILED })));
  }

  /** Refs that left this process inside a value: keep them (borrowers are not tracked yet). */
  markEscaped(refs: unknown[]): void {
    for (const r of refs) {
      if (!(r instanceof ObjectRef)) continue;
      const e = this.objects.get(r.id);
      if (e) e.escaped = true;
    }
  }

  private onRefCreated(ref: ObjectRef<unknown>): void {
    let e = this.objects.get(ref.id);
    if (!e) {
      const owned = ref.ownerAddress === this.address;
      e = new ObjEntry(ref.id, owned, ref.ownerAddress);
      if (owned)
        e.settle(FAILED, encode(new OwnerDiedError(`object ${ref.id} was already freed by its owner`)));
      this.objects.set(ref.id, e);
    }
    e.localRefs++;
  }

  private onRefReleased(id: string): void {
    const e = this.objects.get(id);
    if (!e) return;
    e.localRefs--;
    this.maybeFree(e);
  }

  private maybeFree(e: ObjEntry): void {
    if (!e.unreferenced) return;
    if (e.state === PENDING && e.owned) return; // dropped when its task finishes
    this.objects.delete(e.id);
  }

  close(): void {
    setRefHooks(undefined);
  }
}

function describeTimeout(refs: readonly ObjectRef<unknown>[], missing: number[], ms: number): string {
  const ids = missing.slice(0, 3).map((i) => refs[i]!.id);
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  return `get timed out after ${ms} ms waiting for ${missing.length} of ${refs.length} object(s): ${ids.join(", ")}${more}`;
}
