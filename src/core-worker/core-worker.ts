import {
  InfeasibleResourcesError,
  RayError,
  RuntimeUnavailableError,
  TaskCancelledError,
} from "../errors/index.js";
import { StoreClient } from "../object-store/index.js";
import {
  type ActorSpec,
  CONTROL_STORE_KINDS,
  type CoreWorkerService,
  type FunctionDescriptor,
  type Message,
  Msg,
  type ProcessMemoryInfo,
  type RegisterActorReply,
  type ReplyOf,
  type RequestBodyOf,
  type RequestKind,
  type RuntimeEnv,
  router,
  type StoreInfo,
  type TaskDone,
  type WireValue,
} from "../protocol/index.js";
import {
  infeasibleReason,
  type LabelSelector,
  type ResourceMap,
  type SchedulingStrategy,
} from "../scheduling/index.js";
import { errorCodec } from "../serialization/index.js";
import { type Connection, Endpoint, type Network, notServed } from "../transport/index.js";
import { type Clock, collectAndSettle, realClock } from "../util/index.js";
import { ActorExecutor } from "./actor-executor.js";
import { ActorHandle, type HandleState } from "./actor-handle.js";
import { type ActorCall, ActorSubmitter } from "./actor-submitter.js";
import { newTaskContext, type TaskContext } from "./context.js";
import { KeepAlive } from "./keep-alive.js";
import { ObjectManager } from "./object-manager.js";
import type { ObjectRef } from "./object-ref.js";
import { PENDING } from "./object-table.js";
import { ACTOR_REF_PREFIX } from "./ref-key.js";
import { CoreWorkerScope } from "./scope.js";
import { type ExecutorHost, TaskExecutor } from "./task-executor.js";
import type { TaskSpec } from "./task-spec.js";
import { type SubmitterShapeState, TaskSubmitter } from "./task-submitter.js";
import type { ObjectSeqs } from "./value-store.js";
import { WorkerCollector } from "./worker-gc.js";

/** `module#key` per descriptor, made once: a new string per task would be hashed anew at every lookup. */
const descKeys = new WeakMap<FunctionDescriptor, string>();

/** How a core worker is started. */
export interface CoreWorkerOptions {
  readonly workerId: string;
  readonly mode: "driver" | "worker";
  /** Where this process listens (a Unix socket path, or `tcp://host:port` in a TCP cluster; port 0: any free one). */
  readonly listenAddress: string;
  /** What others dial when `listenAddress` binds every interface (see Endpoint.listen). */
  readonly advertiseAddress?: string;
  /** The local node manager (on the head's node also the control store). */
  readonly nodeManagerAddress: string;
  /** The control store (the head), when it is not the local node manager (a worker node's processes). */
  readonly controlStoreAddress?: string;
  readonly jobId: string;
  readonly nodeId: string;
  /** The session secret (from the head's session dir): every connection proves it. */
  readonly secret: Uint8Array;
  /** How it reaches other processes (default: real sockets; a simulation passes a MemoryNetwork host). */
  readonly network?: Network;
  /** Times everything it waits for (default: real time; a simulation passes a FakeClock). */
  readonly clock?: Clock;
  /** Where owned object ids' numbers come from (default: one counter per process; a simulation passes its own). */
  readonly objectSeqs?: ObjectSeqs;
  /** Collect garbage after tasks when idle (default: workers do, drivers not; a simulation turns it off). */
  readonly collectGarbage?: boolean;
  /** The process id errors of user code name (default: this process's; a simulation passes its worker's made-up pid). */
  readonly pid?: number;
}

/** Options of one task submission (already validated by the API layer). */
export interface SubmitOptions {
  readonly demand: ResourceMap;
  readonly shapeKey: string;
  readonly numReturns: number;
  readonly maxRetries: number;
  readonly retryExceptions: boolean | readonly string[];
  /** Node choice (absent: DEFAULT); validated by the API. Part of `shapeKey`. */
  readonly strategy?: SchedulingStrategy;
  /** Nodes allowed, by label (absent: any); validated by the API. Part of `shapeKey`. */
  readonly labelSelector?: LabelSelector;
}

/** Options of one actor creation (already validated by the API layer). */
export type ActorCreateOptions = Omit<
  ActorSpec,
  "actorId" | "desc" | "args" | "dep" | "runtimeKey" | "owner"
>;

/**
 * The runtime of a driver or worker (Ray's CoreWorker): owns the objects it creates,
 * submits tasks to leased workers and calls to actors, runs tasks and hosts an actor
 * when it is a worker, and serves its objects to borrowers. Nothing of it is
 * process-wide: one process may run several (each with its own endpoint, tables and
 * {@link CoreWorkerScope}); the process's entry points make one the default instance.
 */
export class CoreWorker {
  /** Where this core worker's refs and handles report, and what values it decodes bind to. */
  readonly scope: CoreWorkerScope = new CoreWorkerScope(this);
  /** What this core worker is running now (its executors keep it current). */
  readonly context: TaskContext = newTaskContext();
  readonly endpoint: Endpoint;
  readonly keepAlive: KeepAlive;
  readonly objects: ObjectManager;
  private nm: Connection | undefined;
  private cs: Connection | undefined;
  private readonly submitter: TaskSubmitter;
  private readonly actorSubmitter: ActorSubmitter;
  private readonly executor: TaskExecutor;
  private readonly actorExecutor: ActorExecutor;
  private nextTask = 1;
  private nextActor = 1;
  private runtimeKey = "";
  private runtime: RuntimeEnv | undefined;
  private blockedDepth = 0;
  private closed = false;
  /**
   * Set once the node manager's connection closed while this core worker was open (its
   * node died or was stopped, or the link was cut): what everything that needs the node fails with from then
   * on (leases, so queued and retried tasks; store requests), saying where and why.
   */
  private nodeLost: RuntimeUnavailableError | undefined;
  /** Workers only: collects garbage after tasks (see worker-gc.ts); drivers never force a collection. */
  private readonly collector: WorkerCollector | undefined;
  /** Cluster totals known to this process (for synchronous infeasibility checks). */
  clusterTotals: ResourceMap[] = [];
  /** Job and node this process belongs to (known after registration). */
  jobId: string;
  nodeId: string;

  constructor(readonly opts: CoreWorkerOptions) {
    this.jobId = opts.jobId;
    this.nodeId = opts.nodeId;
    const clock = opts.clock ?? realClock;
    this.endpoint = new Endpoint(opts.workerId, (m, c) => this.handle(m, c), errorCodec, opts.secret, {
      network: opts.network,
      clock,
    });
    this.endpoint.unrefSockets = opts.mode === "driver";
    this.keepAlive = new KeepAlive(opts.mode === "driver");
    this.objects = new ObjectManager(
      opts.workerId,
      this.endpoint,
      this.keepAlive,
      this.scope,
      clock,
      opts.objectSeqs,
    );
    this.objects.onBlock = (b) => (b ? this.enterBlocked() : this.exitBlocked());
    const objects = this.objects;
    this.collector =
      (opts.collectGarbage ?? opts.mode === "worker")
        ? new WorkerCollector(
            {
              get createdSinceGc() {
                return objects.createdSinceGc;
              },
              set createdSinceGc(n: number) {
                objects.createdSinceGc = n;
              },
              get pinnedObjects() {
                return objects.store?.pinnedObjects ?? 0;
              },
            },
            undefined,
            clock,
          )
        : undefined;
    this.submitter = new TaskSubmitter(
      this.endpoint,
      () => this.nodeManager(),
      () => this.runtimeKey,
      {
        completeReturns: (spec, msg, conn) => this.complete(spec.returnIds, spec.lentEntries, msg, conn),
        failReturns: (spec, err) => this.fail(spec.returnIds, spec.lentEntries, err),
      },
      clock,
      () => ({ runtime: this.runtime, store: this.objects.store?.info.name }),
    );
    this.actorSubmitter = new ActorSubmitter(this.endpoint, () => this.controlStore(), {
      completeCall: (call, msg, conn) => this.complete(call.returnIds, call.lentEntries, msg, conn),
      failCall: (call, err) => this.fail(call.returnIds, call.lentEntries, err),
      resolveDeps: (call) => this.objects.inlineDeps(call.deps),
      unlend: (entries) => this.objects.unlend(entries),
      storeName: () => this.objects.store?.info.name,
    });
    const host: ExecutorHost = {
      fetchValue: (id, owner, at) => this.objects.fetchValue(id, owner, at),
      storeBlob: (id, blob) => this.objects.storeBlob(id, blob),
      pinFor: (peer, keys) => this.objects.pinFor(peer, keys),
      whenRegistered: (fn) => this.objects.whenRegistered(fn),
      afterTask: () => this.collector?.afterTask(),
      context: this.context,
      scope: this.scope,
      clock,
      storeName: () => this.objects.store?.info.name,
      storeNode: () => this.objects.store?.info.node,
      pid: opts.pid ?? process.pid,
    };
    this.executor = new TaskExecutor(host);
    this.actorExecutor = new ActorExecutor(host, () => this.controlStore());
    this.scope.actorHooks = {
      call: (state, method, args, n) => this.submitActorCall(state, method, args, n),
      handleCreated: (s) => {
        if (s.owner) this.objects.onRefCreated(ACTOR_REF_PREFIX + s.actorId, s.owner);
      },
      handleReleased: (s) => {
        if (s.owner) this.objects.onRefReleased(ACTOR_REF_PREFIX + s.actorId);
      },
    };
    this.endpoint.onPeer = (conn) => conn.onClose(() => this.objects.onPeerGone(conn.peerAddress));
  }

  /** Listen and connect to the node manager. */
  async start(): Promise<void> {
    this.keepAlive.hold();
    try {
      await this.endpoint.listen(this.opts.listenAddress, this.opts.advertiseAddress);
      const nm = await this.endpoint.connect(this.opts.nodeManagerAddress);
      this.nm = nm;
      nm.onClose((err) => {
        if (this.closed) return;
        this.nodeLost = new RuntimeUnavailableError(
          `the node manager is not reachable (${err.message}): this process's node died or was stopped, ` +
            "or the connection to it was lost",
        );
      });
      if (this.opts.controlStoreAddress) this.cs = await this.endpoint.connect(this.opts.controlStoreAddress);
    } finally {
      this.keepAlive.release();
    }
  }

  get address(): string {
    return this.endpoint.listenAddress;
  }

  /** The node-manager connection (throws once it is gone). */
  nodeManager(): Connection {
    if (this.nodeLost) throw this.nodeLost;
    if (!this.nm || this.nm.isClosed) throw new RuntimeUnavailableError("the node manager is not reachable");
    return this.nm;
  }

  /**
   * Reach the control store at `address` from now on (a driver learns it from its node
   * manager: on a worker node it is the head). No-op for "" (the node manager is the head's).
   */
  async connectControlStore(address: string): Promise<void> {
    if (address === "" || address === this.opts.nodeManagerAddress) return;
    this.keepAlive.hold(); // a driver's sockets do not keep it alive by themselves
    try {
      this.cs = await this.endpoint.connect(address);
    } finally {
      this.keepAlive.release();
    }
  }

  /** The control-store connection (the head; on the head's node the same as the node manager). Throws once it is gone. */
  controlStore(): Connection {
    if (!this.opts.controlStoreAddress && !this.cs) return this.nodeManager();
    if (!this.cs || this.cs.isClosed)
      throw new RuntimeUnavailableError("the head (control store) is not reachable");
    return this.cs;
  }

  /** The task submitter's state (diagnostics, simulation transcripts): see TaskSubmitter.snapshot. */
  submitterState(): SubmitterShapeState[] {
    return this.submitter.snapshot();
  }

  /** Record the job and node ids learned at registration. */
  setIdentity(jobId: string, nodeId: string): void {
    this.jobId = jobId;
    this.nodeId = nodeId;
  }

  /** Attach the node's object store (learned at registration). */
  setStore(info: StoreInfo): void {
    this.objects.store?.close();
    this.objects.store = new StoreClient(info, () => this.nodeManager(), this.scope, this.opts.clock);
  }

  /**
   * Set the runtime key under which the node manager starts workers for this job, and
   * the runtime behind it (sent with actor creations, for nodes that have not seen it).
   */
  setRuntimeKey(key: string, runtime?: RuntimeEnv): void {
    this.runtimeKey = key;
    if (runtime) this.runtime = runtime;
  }

  /**
   * A request to the node manager or, for the control store's kinds, the control store
   * (the head), keeping a driver alive until it is answered.
   */
  async call<K extends RequestKind>(body: RequestBodyOf<K>): Promise<ReplyOf<K>> {
    this.keepAlive.hold();
    try {
      const to = CONTROL_STORE_KINDS.has(body.t) ? this.controlStore() : this.nodeManager();
      return await to.request(body);
    } finally {
      this.keepAlive.release();
    }
  }

  // ---- tasks ---------------------------------------------------------------

  /** Submit a normal task; returns its return refs. */
  submitTask(
    desc: FunctionDescriptor,
    args: readonly unknown[],
    opts: SubmitOptions,
    label?: string,
  ): ObjectRef<unknown>[] {
    this.checkOpen();
    const prepared = this.objects.prepareArgs(args, true);
    const ret = this.objects.allocate(opts.numReturns);
    const ids: string[] = [];
    const refs: ObjectRef<unknown>[] = [];
    const first = this.objects.createPending(ret, opts.numReturns, ids, refs);
    let descKey = descKeys.get(desc);
    if (descKey === undefined) descKeys.set(desc, (descKey = `${desc.module}${desc.key}`));
    const spec: TaskSpec = {
      id: this.nextTask++,
      desc,
      descKey,
      args: prepared.data,
      deps: prepared.deps,
      ret,
      returnIds: ids,
      demand: opts.demand,
      shapeKey: opts.shapeKey,
      strategy: opts.strategy,
      labelSelector: opts.labelSelector,
      maxRetries: opts.maxRetries,
      retryExceptions: opts.retryExceptions,
      lentEntries: prepared.lent,
      pendingDeps: prepared.pending?.length ?? 0,
      attempt: 0,
      crashes: 0,
      label,
    };
    this.keepAlive.hold();
    first.task = spec;
    const ready = () => {
      if (spec.cancelled) return;
      const failed = this.objects.inlineDeps(spec.deps);
      if (failed) this.fail(spec.returnIds, spec.lentEntries, failed);
      else this.submitter.enqueue(spec);
    };
    if (!prepared.pending) ready();
    else for (const e of prepared.pending) e.whenSettled(() => --spec.pendingDeps === 0 && ready());
    return refs;
  }

  /** A finished task's spec need not stay reachable from its result. */
  private detachTask(ids: string[]): void {
    const e = this.objects.owned(ids[0]!);
    if (e) e.task = undefined;
  }

  /** Settle the returns of a task or call that finished; register for refs nested in them, then unpin. */
  private complete(ids: string[], lent: TaskSpec["lentEntries"], msg: TaskDone, conn: Connection): void {
    this.detachTask(ids);
    if (msg.sn !== undefined && msg.s) {
      this.pullReturns(ids, lent, msg, conn, msg.sn);
      return;
    }
    if (!msg.n && !msg.s) {
      this.finish(ids, lent, msg.r);
      return;
    }
    const stored = new Map(msg.s ?? []);
    if (!msg.n) {
      for (let k = 0; k < ids.length; k++)
        this.objects.settleOwned(ids[k]!, msg.r[k]!, undefined, stored.get(k));
      this.objects.unlend(lent);
      this.keepAlive.release();
      return;
    }
    const nested = new Map<number, Array<[string, string]>>();
    for (const [k, id, owner] of msg.n) {
      let list = nested.get(k);
      if (!list) nested.set(k, (list = []));
      list.push([id, owner]);
    }
    for (let k = 0; k < ids.length; k++) {
      this.objects.settleOwned(ids[k]!, msg.r[k]!, nested.get(k), stored.get(k));
    }
    this.objects.unlend(lent);
    this.keepAlive.release();
    const unpin = msg.n.map((x) => x[1]);
    this.objects.whenRegistered(() => conn.send({ t: Msg.Unpin, ids: unpin }));
  }

  /**
   * Returns stored on the worker's node, another one: pull them into this node's store
   * first (then they are read in place here), and free that copy with the object.
   * A failed pull fails the returns with its error (ObjectLostError, ObjectStoreFullError).
   */
  private pullReturns(
    ids: string[],
    lent: TaskSpec["lentEntries"],
    msg: TaskDone,
    conn: Connection,
    node: string,
  ): void {
    const s = msg.s!;
    msg.sn = undefined;
    const self = this.objects.home.address;
    Promise.all(s.map(([k, size]) => this.objects.requireStore().pull(ids[k]!, size, self, [node]))).then(
      () => {
        this.complete(ids, lent, msg, conn);
        for (const [k] of s) this.objects.onAddLocation(ids[k]!, node);
      },
      (err: unknown) => {
        this.fail(ids, lent, errorCodec.encode(err));
        this.objects.freeCopiesAt(
          node,
          s.map(([k]) => ids[k]!),
        );
        if (msg.n) conn.send({ t: Msg.Unpin, ids: msg.n.map((x) => x[1]) });
      },
    );
  }

  /** Settle the returns of a finished task or call with their values and give back what it borrowed. */
  private finish(ids: string[], lent: TaskSpec["lentEntries"], values: WireValue[]): void {
    for (let k = 0; k < ids.length; k++) this.objects.settleOwned(ids[k]!, values[k]!);
    this.objects.unlend(lent);
    this.keepAlive.release();
  }

  /**
   * Fail every return of a task or call with one encoded error (reading any of them
   * rejects with it) and give back what it borrowed. The only way a return fails: an
   * error never travels the value path of finish().
   */
  private fail(ids: string[], lent: TaskSpec["lentEntries"], error: Uint8Array): void {
    for (let k = 0; k < ids.length; k++) this.objects.failOwned(ids[k]!, error);
    this.objects.unlend(lent);
    this.keepAlive.release();
  }

  /**
   * Cancel the task that produces `ref` (this process must own it). Returns false
   * when the task already finished (or the ref is not a task result).
   */
  cancel(ref: ObjectRef<unknown>, force: boolean): boolean {
    const e = this.objects.owned(ref.id);
    if (!e) {
      throw new RayError(
        `cancel(): ${ref} is not owned by this process; cancel a task in the process that submitted it`,
      );
    }
    const spec = e.task as TaskSpec | undefined; // set only by submitTask (first.task = spec)
    if (!spec || e.state !== PENDING) return false;
    if (spec.pendingDeps > 0) {
      // Still waiting for its arguments: it never reaches a worker.
      spec.cancelled = true;
      this.fail(
        spec.returnIds,
        spec.lentEntries,
        errorCodec.encode(new TaskCancelledError(`task ${spec.label ?? spec.desc.name} was cancelled`)),
      );
      return true;
    }
    return this.submitter.cancel(spec, force);
  }

  // ---- actors --------------------------------------------------------------

  /** This process learned (from its own kill) that an actor is dead: its calls fail now. */
  actorDied(actorId: string, deathError: Uint8Array): void {
    this.actorSubmitter.markDead(actorId, deathError);
  }

  /** Create an actor (registration with the control store continues in the background). */
  createActor(desc: FunctionDescriptor, args: readonly unknown[], opts: ActorCreateOptions): ActorHandle {
    this.checkOpen();
    const reason = this.clusterTotals.length > 0 ? infeasibleReason(opts.demand, this.clusterTotals) : null;
    if (reason) throw new InfeasibleResourcesError(`cannot create actor ${opts.className}: it ${reason}`);
    const actorId = `${this.opts.workerId}.a${this.nextActor++}`;
    const prepared = this.objects.prepareArgs(args);
    const spec: ActorSpec = {
      ...opts,
      actorId,
      desc,
      args: prepared.data as Uint8Array, // actor creation never takes the wire-primitive shortcut
      runtimeKey: this.runtimeKey,
      runtime: this.runtime,
      ownerNode: this.nodeId || undefined,
      owner: this.address,
    };
    // Rejects with the Error every call of the actor fails with. register() may run in a
    // dependency's settle callback: it must reject, never throw (a throw there would skip
    // the entry's other waiters, and calls would wait for a registration that never ends).
    const registered = new Promise<RegisterActorReply>((resolve, reject) => {
      const register = () => {
        const failed = this.objects.inlineDeps(prepared.deps);
        this.objects.unlend(prepared.lent);
        if (failed) {
          reject(errorCodec.decode(failed)); // an argument failed: every call fails with its error
          return;
        }
        if (prepared.deps) spec.dep = prepared.deps;
        let cs: Connection;
        try {
          cs = this.controlStore();
        } catch (err) {
          reject(err); // the head is gone (RuntimeUnavailableError): every call fails with it
          return;
        }
        cs.request({ t: Msg.RegisterActor, spec }).then(resolve, reject);
      };
      if (!prepared.pending) register();
      else {
        let n = prepared.pending.length;
        for (const e of prepared.pending) e.whenSettled(() => --n === 0 && register());
      }
    });
    this.actorSubmitter.expect(
      actorId,
      registered.then(() => undefined),
    );
    const owner = opts.detached ? "" : this.address;
    if (owner) {
      // The actor lives while its handles are held anywhere (counted like an object).
      const e = this.objects.entry(ACTOR_REF_PREFIX + actorId, owner);
      let freed = false;
      e.onFree = () => {
        freed = true;
        if (this.closed) return;
        registered
          .then((r) => {
            if (r.actorId !== actorId) {
              // getIfExists found another actor: we only borrowed it.
              if (r.owner) this.objects.onRefReleased(ACTOR_REF_PREFIX + r.actorId);
              return;
            }
            return this.controlStore().request({
              t: Msg.KillActor,
              actorId,
              noRestart: true,
              cause: "every handle to it went out of scope",
            });
          })
          .catch(() => undefined);
      };
      registered.then(
        (r) => {
          // getIfExists found an existing actor: hold a borrow of it while our handles live.
          if (r.actorId !== actorId && r.owner && !freed)
            this.objects.onRefCreated(ACTOR_REF_PREFIX + r.actorId, r.owner);
        },
        () => undefined,
      );
    }
    return ActorHandle.create(
      { actorId, className: opts.className, methods: opts.methods, owner },
      this.scope,
    );
  }

  private submitActorCall(state: HandleState, method: string, args: unknown[], numReturns: number): unknown {
    this.checkOpen();
    const prepared = this.objects.prepareArgs(args);
    if (state.owner) {
      // A pending call keeps its actor alive, like an argument keeps its object alive.
      const e = this.objects.entry(ACTOR_REF_PREFIX + state.actorId, state.owner);
      e.lent++;
      (prepared.lent ??= []).push(e);
    }
    const ret = this.objects.allocate(numReturns);
    const ids: string[] = [];
    const refs: ObjectRef<unknown>[] = [];
    this.objects.createPending(ret, numReturns, ids, refs);
    const call: ActorCall = {
      id: this.nextTask++,
      method,
      args: prepared.data as Uint8Array, // actor calls never take the wire-primitive shortcut (yet)
      deps: prepared.deps,
      ret,
      returnIds: ids,
      pendingDeps: prepared.pending?.length ?? 0,
      lentEntries: prepared.lent,
    };
    this.keepAlive.hold();
    if (prepared.pending) {
      for (const e of prepared.pending) {
        e.whenSettled(() => --call.pendingDeps === 0 && this.actorSubmitter.depsChanged(state.actorId));
      }
    }
    this.actorSubmitter.submit(state.actorId, call);
    return numReturns === 1 ? refs[0] : refs;
  }

  // ---- worker blocking (nested gets) ---------------------------------------

  private enterBlocked(): void {
    const current = this.context;
    if (this.opts.mode !== "worker" || current.actorId !== undefined || current.taskId === undefined) return;
    if (this.blockedDepth++ === 0) this.nm?.send({ t: Msg.WorkerBlocked });
  }

  private exitBlocked(): void {
    if (this.opts.mode !== "worker" || this.blockedDepth === 0) return;
    if (--this.blockedDepth === 0) this.nm?.send({ t: Msg.WorkerUnblocked });
  }

  // ---- messages -------------------------------------------------------------

  private handle(msg: Message, conn: Connection): unknown {
    return this.router.handle(msg, conn);
  }

  /** One handler per kind of CoreWorkerService: a missing kind or a wrong reply type does not compile. */
  private readonly router = router<CoreWorkerService, Connection>(
    {
      [Msg.PushTask]: (msg, conn) => this.executor.onPushTask(msg, conn),
      [Msg.PushActorTask]: (msg, conn) => this.actorExecutor.onPushActorTask(msg, conn),
      [Msg.TaskDone]: (msg, conn) => {
        if (!this.submitter.onReply(msg, conn)) this.actorSubmitter.onReply(msg, conn);
      },
      [Msg.TaskFailed]: (msg, conn) => {
        if (!this.submitter.onReply(msg, conn)) this.actorSubmitter.onReply(msg, conn);
      },
      [Msg.ReturnTasks]: (msg) => this.submitter.onReturned(msg.ids),
      [Msg.CancelTask]: (msg, conn) => this.executor.onCancel(msg.id, conn),
      [Msg.GetObject]: (msg) => this.objects.serve(msg),
      [Msg.CreateActor]: (msg) => this.actorExecutor.create(msg),
      [Msg.AddBorrower]: (msg, conn) => this.objects.onAddBorrower(msg.ids, conn.peerAddress),
      [Msg.RemoveBorrower]: (msg, conn) => this.objects.onRemoveBorrower(msg.ids, conn.peerAddress),
      [Msg.Unpin]: (msg, conn) => this.objects.onUnpin(msg.ids, conn.peerAddress),
      [Msg.AddObjectLocation]: (msg) => this.objects.onAddLocation(msg.id, msg.node),
      // A one-element array: the node manager's answer to the same kind lists every process.
      [Msg.GetMemoryInfo]: (msg) =>
        msg.collect ? collectAndSettle().then(() => [this.memoryInfo()]) : [this.memoryInfo()],
      [Msg.StorePressure]: () => void collectAndSettle(),
      [Msg.ActorAck]: (msg, conn) => this.actorExecutor.onAck(msg, conn),
      [Msg.ActorCovered]: (msg) => this.actorSubmitter.onCovered(msg),
      // Answered by the empty reply: a worker whose event loop is stuck cannot.
      [Msg.WorkerPing]: () => undefined,
    },
    (t) => notServed(`${this.opts.mode} ${this.opts.workerId}`, t),
  );

  /** This process's objects and RSS, for `tsray memory`. */
  memoryInfo(): ProcessMemoryInfo {
    const usage = process.memoryUsage();
    return {
      workerId: this.opts.workerId,
      address: this.address,
      pid: process.pid,
      kind: this.opts.mode === "driver" ? "driver" : this.context.actorId !== undefined ? "actor" : "worker",
      rss: usage.rss,
      heapUsed: usage.heapUsed,
      fullGcs: this.collector?.fullGcs ?? 0,
      gcPending: this.collector?.pending ?? false,
      objects: this.objects.memoryInfo(),
    };
  }

  private checkOpen(): void {
    if (this.closed) throw new RuntimeUnavailableError("tsray has been shut down");
  }

  /** Stop: return leases, close sockets. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.submitter.close();
    this.nm?.flush();
    this.objects.store?.close();
    this.objects.close();
    this.scope.close();
    this.endpoint.close();
    this.keepAlive.close();
  }
}
