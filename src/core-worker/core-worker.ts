import { GetTimeoutError, OwnerDiedError, RuntimeUnavailableError } from "../errors/index.js";
import {
  type FunctionDescriptor,
  type GetObject,
  type GetObjectReply,
  type Message,
  Msg,
  type RequestBody,
} from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import { decode, encode, errorCodec } from "../serialization/index.js";
import { type Connection, Endpoint } from "../transport/index.js";
import { current } from "./context.js";
import { KeepAlive } from "./keep-alive.js";
import { ObjectRef, setRefHooks } from "./object-ref.js";
import { detach, FAILED, ObjEntry, PENDING, READY } from "./object-table.js";
import { TaskExecutor } from "./task-executor.js";
import type { TaskDep, TaskSpec } from "./task-spec.js";
import { TaskSubmitter } from "./task-submitter.js";

/** How a core worker is started. */
export interface CoreWorkerOptions {
  readonly workerId: string;
  readonly mode: "driver" | "worker";
  /** Where this process listens (Unix socket path). */
  readonly listenAddress: string;
  /** The local node manager (and, on the head, the control store). */
  readonly nodeManagerAddress: string;
  readonly jobId: string;
  readonly nodeId: string;
}

/** Options of one task submission (already validated by the API layer). */
export interface SubmitOptions {
  readonly demand: ResourceMap;
  readonly shapeKey: string;
  readonly numReturns: number;
  readonly maxRetries: number;
  readonly retryExceptions: boolean | readonly string[];
}

/**
 * The per-process runtime (Ray's CoreWorker), in the driver and in every worker:
 * owns the objects this process created, submits tasks to leased workers, runs
 * tasks pushed to it, serves its objects to borrowers, and resolves get/wait.
 */
export class CoreWorker {
  readonly endpoint: Endpoint;
  private nm: Connection | undefined;
  private readonly objects = new Map<string, ObjEntry>();
  private readonly submitter: TaskSubmitter;
  readonly executor: TaskExecutor;
  private nextObject = 1;
  private nextTask = 1;
  private runtimeKey = "";
  private blockedDepth = 0;
  private closed = false;
  /** Keeps a driver's event loop alive only while it waits on the cluster. */
  readonly keepAlive: KeepAlive;

  constructor(readonly opts: CoreWorkerOptions) {
    this.jobId = opts.jobId;
    this.nodeId = opts.nodeId;
    this.endpoint = new Endpoint(opts.workerId, (m, c) => this.handle(m, c), errorCodec);
    this.endpoint.unrefSockets = opts.mode === "driver";
    this.keepAlive = new KeepAlive(opts.mode === "driver");
    this.submitter = new TaskSubmitter(
      this.endpoint,
      () => this.nodeManager(),
      () => this.runtimeKey,
      {
        completeReturns: (spec, values) => this.completeReturns(spec, values),
        failReturns: (spec, err) => this.failReturns(spec, err),
      },
    );
    this.executor = new TaskExecutor({
      fetch: (id, owner) => this.fetchEncoded(id, owner),
      markEscaped: (refs) => this.markEscaped(refs),
    });
    setRefHooks({
      created: (ref) => this.onRefCreated(ref),
      released: (id) => this.onRefReleased(id),
    });
  }

  /** Listen and connect to the node manager. */
  async start(): Promise<void> {
    this.keepAlive.hold();
    try {
      await this.endpoint.listen(this.opts.listenAddress);
      this.nm = await this.endpoint.connect(this.opts.nodeManagerAddress);
    } finally {
      this.keepAlive.release();
    }
  }

  get address(): string {
    return this.endpoint.listenAddress;
  }

  /** The node-manager connection (throws once it is gone). */
  nodeManager(): Connection {
    if (!this.nm || this.nm.isClosed) throw new RuntimeUnavailableError("the node manager is not reachable");
    return this.nm;
  }

  /** Job and node this process belongs to (known after registration). */
  jobId = "";
  nodeId = "";

  /** Record the job and node ids learned at registration. */
  setIdentity(jobId: string, nodeId: string): void {
    this.jobId = jobId;
    this.nodeId = nodeId;
  }

  /** A request to the node manager / control store, keeping a driver alive until it is answered. */
  async call<T>(body: RequestBody): Promise<T> {
    this.keepAlive.hold();
    try {
      return await this.nodeManager().request<T>(body);
    } finally {
      this.keepAlive.release();
    }
  }

  /** Set the runtime key under which the node manager starts workers for this job. */
  setRuntimeKey(key: string): void {
    this.runtimeKey = key;
  }

  // ---- objects -------------------------------------------------------------

  /** Store a value owned by this process and return its ref. */
  put(value: unknown): ObjectRef<unknown> {
    const refs: unknown[] = [];
    const data = encode(value, refs);
    if (refs.length > 0) this.markEscaped(refs);
    const id = `${this.opts.workerId}/${this.nextObject++}`;
    const e = new ObjEntry(id, true, this.address);
    e.state = READY;
    e.data = data;
    this.objects.set(id, e);
    return new ObjectRef(id, this.address);
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
    const all = Promise.all(entries.map((e) => this.settled(e)));
    this.keepAlive.hold();
    this.enterBlocked();
    try {
      if (timeoutMs === undefined) await all;
      else await withTimeout(all, timeoutMs, () => describeTimeout(refs, missing, timeoutMs));
    } finally {
      this.exitBlocked();
      this.keepAlive.release();
    }
    for (let k = 0; k < missing.length; k++) {
      const e = entries[k]!;
      if (e.state === FAILED) throw decode(e.data!);
      out[missing[k]!] = decode(e.data!);
    }
    return out;
  }

  /**
   * Wait until `numReturns` of `refs` are ready (or the timeout passes); returns
   * [ready, notReady], each in input order.
   */
  async wait(
    refs: readonly ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<[ObjectRef<unknown>[], ObjectRef<unknown>[]]> {
    const entries = refs.map((r) => this.entryFor(r));
    const count = () => entries.reduce((n, e) => n + (e.state === PENDING ? 0 : 1), 0);
    if (count() < numReturns && timeoutMs !== 0) {
      this.keepAlive.hold();
      this.enterBlocked();
      try {
        await new Promise<void>((resolve) => {
          let ready = count();
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
            if (e.state === PENDING) {
              e.whenSettled(onOne);
              if (!e.owned) void this.settled(e);
            }
          }
          if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
        });
      } finally {
        this.exitBlocked();
        this.keepAlive.release();
      }
    }
    const ready: ObjectRef<unknown>[] = [];
    const notReady: ObjectRef<unknown>[] = [];
    for (let i = 0; i < refs.length; i++) {
      if (entries[i]!.state !== PENDING && ready.length < numReturns) ready.push(refs[i]!);
      else notReady.push(refs[i]!);
    }
    return [ready, notReady];
  }

  private entryFor(ref: ObjectRef<unknown>): ObjEntry {
    let e = this.objects.get(ref.id);
    if (!e) {
      // A ref whose entry was dropped (released elsewhere in this process) or never seen.
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
    e.fetching ??= this.fetchInto(e, e.owner);
    return e.fetching;
  }

  private async fetchInto(e: ObjEntry, owner: string): Promise<ObjEntry> {
    try {
      const got = await this.fetchEncoded(e.id, owner);
      e.settle(got.failed ? FAILED : READY, got.data);
    } catch (err) {
      e.settle(FAILED, errorCodec.encode(err));
    }
    return e;
  }

  /** Ask `owner` for an object's encoded value (waits until the owner has it). */
  async fetchEncoded(id: string, owner: string): Promise<{ data: Uint8Array; failed: boolean }> {
    const local = this.objects.get(id);
    if (local && local.state !== PENDING) return { data: local.data!, failed: local.state === FAILED };
    if (owner === this.address) {
      const e = this.entryFor({ id, ownerAddress: owner } as ObjectRef<unknown>);
      await this.settled(e);
      return { data: e.data!, failed: e.state === FAILED };
    }
    let conn: Connection;
    this.keepAlive.hold();
    try {
      conn = await this.endpoint.connect(owner);
    } catch (err) {
      this.keepAlive.release();
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
    } finally {
      this.keepAlive.release();
    }
  }

  private serveObject(msg: GetObject): Promise<GetObjectReply> | GetObjectReply {
    const e = this.objects.get(msg.id);
    if (!e?.owned) {
      throw new OwnerDiedError(
        `object ${msg.id} is not known to its owner ${this.opts.workerId} (already freed)`,
      );
    }
    if (e.state !== PENDING) return { d: e.data!, e: e.state === FAILED };
    return new Promise((resolve) => e.whenSettled((s) => resolve({ d: s.data!, e: s.state === FAILED })));
  }

  private markEscaped(refs: unknown[]): void {
    for (const r of refs) {
      const ref = r as ObjectRef<unknown>;
      const e = this.objects.get(ref.id);
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

  // ---- tasks ---------------------------------------------------------------

  /** Submit a normal task; returns its return refs. */
  submitTask(desc: FunctionDescriptor, args: readonly unknown[], opts: SubmitOptions): ObjectRef<unknown>[] {
    if (this.closed) throw new RuntimeUnavailableError("tsray has been shut down");
    let deps: TaskDep[] | undefined;
    let lent: ObjEntry[] | undefined;
    let pendingOwned: ObjEntry[] | undefined;
    let plain: readonly unknown[] = args;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!(a instanceof ObjectRef)) continue;
      if (plain === args) plain = args.slice();
      (plain as unknown[])[i] = undefined;
      (deps ??= []).push({ i, id: a.id, o: a.ownerAddress });
      const e = this.objects.get(a.id);
      if (e?.owned) {
        e.lent++;
        (lent ??= []).push(e);
        if (e.state === PENDING) (pendingOwned ??= []).push(e);
      }
    }
    const refsInside: unknown[] = [];
    const data = encode(plain, refsInside);
    if (refsInside.length > 0) this.markEscaped(refsInside);
    const ret = this.nextObject;
    this.nextObject += opts.numReturns;
    const returnIds: string[] = [];
    const refs: ObjectRef<unknown>[] = [];
    for (let k = 0; k < opts.numReturns; k++) {
      const id = `${this.opts.workerId}/${ret + k}`;
      returnIds.push(id);
      this.objects.set(id, new ObjEntry(id, true, this.address));
      refs.push(new ObjectRef(id, this.address));
    }
    const spec: TaskSpec = {
      id: this.nextTask++,
      desc,
      descKey: `${desc.module}${desc.key}`,
      args: data,
      deps,
      ret,
      returnIds,
      demand: opts.demand,
      shapeKey: opts.shapeKey,
      maxRetries: opts.maxRetries,
      retryExceptions: opts.retryExceptions,
      lentEntries: lent,
      pendingDeps: pendingOwned?.length ?? 0,
      attempt: 0,
      crashes: 0,
    };
    this.keepAlive.hold();
    if (!pendingOwned) this.dispatchResolved(spec);
    else
      for (const e of pendingOwned)
        e.whenSettled(() => --spec.pendingDeps === 0 && this.dispatchResolved(spec));
    return refs;
  }

  /** All owned deps are settled: inline their values, or fail the task if one failed. */
  private dispatchResolved(spec: TaskSpec): void {
    if (spec.deps) {
      for (const d of spec.deps) {
        const e = this.objects.get(d.id);
        if (!e || e.state === PENDING || !e.owned) continue;
        if (e.state === FAILED) {
          this.failReturns(spec, e.data!);
          return;
        }
        d.v = e.data;
      }
    }
    this.submitter.enqueue(spec);
  }

  private completeReturns(spec: TaskSpec, values: Uint8Array[]): void {
    for (let k = 0; k < spec.returnIds.length; k++) this.settleOwned(spec.returnIds[k]!, READY, values[k]!);
    this.finishTask(spec);
  }

  private failReturns(spec: TaskSpec, err: Uint8Array): void {
    for (const id of spec.returnIds) this.settleOwned(id, FAILED, err);
    this.finishTask(spec);
  }

  private settleOwned(id: string, state: typeof READY | typeof FAILED, data: Uint8Array): void {
    const e = this.objects.get(id);
    if (!e) return;
    e.settle(state, detach(data));
    this.maybeFree(e);
  }

  private finishTask(spec: TaskSpec): void {
    this.keepAlive.release();
    if (!spec.lentEntries) return;
    for (const e of spec.lentEntries) {
      e.lent--;
      this.maybeFree(e);
    }
    spec.lentEntries = undefined;
  }

  // ---- worker blocking (nested gets) ---------------------------------------

  private enterBlocked(): void {
    if (this.opts.mode !== "worker" || current.taskId === undefined) return;
    if (this.blockedDepth++ === 0) this.nm?.send({ t: Msg.WorkerBlocked });
  }

  private exitBlocked(): void {
    if (this.opts.mode !== "worker" || this.blockedDepth === 0) return;
    if (--this.blockedDepth === 0) this.nm?.send({ t: Msg.WorkerUnblocked });
  }

  // ---- messages -------------------------------------------------------------

  private handle(msg: Message, conn: Connection): unknown {
    switch (msg.t) {
      case Msg.PushTask:
        this.executor.onPushTask(msg, conn);
        return undefined;
      case Msg.TaskDone:
      case Msg.TaskFailed:
        this.submitter.onReply(msg);
        return undefined;
      case Msg.GetObject:
        return this.serveObject(msg);
      default:
        return this.extraHandler?.(msg, conn);
    }
  }

  /** Messages not handled by the core worker itself (e.g. the node-manager services in a head). */
  extraHandler: ((msg: Message, conn: Connection) => unknown) | undefined;

  /** Number of objects this process tracks (owned + borrowed copies). */
  get objectCount(): number {
    return this.objects.size;
  }

  /** Stop: return leases, close sockets. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.submitter.close();
    this.nm?.flush();
    setRefHooks(undefined);
    this.endpoint.close();
    this.keepAlive.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, describe: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new GetTimeoutError(describe())), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function describeTimeout(refs: readonly ObjectRef<unknown>[], missing: number[], ms: number): string {
  const ids = missing.slice(0, 3).map((i) => refs[i]!.id);
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  return `get timed out after ${ms} ms waiting for ${missing.length} of ${refs.length} object(s): ${ids.join(", ")}${more}`;
}
