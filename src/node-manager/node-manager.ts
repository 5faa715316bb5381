import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { config } from "../config/index.js";
import { InfeasibleResourcesError, RuntimeUnavailableError } from "../errors/index.js";
import { StoreManager } from "../object-store/index.js";
import {
  type LeaseGrant,
  type Message,
  Msg,
  type NodeManagerService,
  type NodeResourcesView,
  type ProcessMemoryInfo,
  type RegisterWorkerReply,
  type RequestLease,
  type RuntimeEnv,
  router,
} from "../protocol/index.js";
import { type Allocation, infeasibleReason, NodeResources, type ResourceMap } from "../scheduling/index.js";
import { type Connection, notServed } from "../transport/index.js";
import { log } from "../util/log.js";
import { parseRegisterDriver, parseRuntime, resolveRuntime, type WorkerRuntime } from "./runtime.js";
import { type PoolContext, WorkerPool, type WorkerProc } from "./worker-pool.js";

/** What the node manager needs from the control store (in-process on the head, remote elsewhere). */
export interface ControlStoreClient {
  registerNode(info: {
    nodeId: string;
    address: string;
    hostname: string;
    total: ResourceMap;
    isHead: boolean;
  }): void;
  heartbeat(nodeId: string, available: ResourceMap): void;
  /** Totals of every live node, for the infeasibility check. */
  nodeTotals(): ResourceMap[];
  /** A worker process of this node exited (`reason`: why this node manager killed it, if it did). */
  workerExited(
    workerId: string,
    pid: number,
    code: number | null,
    signal: string | null,
    reason?: string,
  ): void;
}

/** Node-manager settings. */
export interface NodeManagerOptions {
  readonly nodeId?: string;
  readonly address: string;
  readonly sessionDir: string;
  readonly resources: ResourceMap;
  readonly gpuIds?: readonly number[];
  readonly logToDriver: boolean;
  readonly isHead: boolean;
  /** Runtime to prestart workers for before any driver registers (embedded mode). */
  readonly prestartRuntime?: RuntimeEnv;
  /** Capacity of the node's shared-memory object store, bytes. */
  readonly objectStoreMemory: number;
}

interface Pending {
  readonly actor: string | undefined;
  readonly rid: number;
  readonly conn: Connection;
  readonly demand: ResourceMap;
  readonly runtimeKey: string;
  alloc: Allocation | undefined;
  starting: WorkerProc | undefined;
  readonly resolve: (g: LeaseGrant | { cancelled: true }) => void;
  readonly reject: (e: Error) => void;
}

interface Lease {
  readonly id: number;
  readonly alloc: Allocation;
  readonly worker: WorkerProc;
  readonly owner: Connection;
  blocked: boolean;
}

/**
 * Ray's raylet for one machine: resource accounting, a pool of pre-started worker
 * processes, and worker leases. Owners lease a worker for a resource shape and then
 * talk to it directly; the node manager is not on the task path.
 *
 * Failure handling: a worker that exits is removed and its lease's resources are
 * freed (its owner sees the socket close and retries); an owner that disconnects
 * loses its leases and their workers are killed (they may be running its tasks).
 */
export class NodeManager {
  readonly nodeId: string;
  readonly resources: NodeResources;
  /** The node's shared-memory object store. */
  readonly objectStore: StoreManager;
  private readonly pool: WorkerPool;
  private readonly runtimes = new Map<string, WorkerRuntime>();
  private readonly pending: Pending[] = [];
  private readonly leases = new Map<number, Lease>();
  private readonly leaseByWorker = new Map<string, Lease>();
  private nextLease = 1;
  /** Connections of registered drivers (for memory fan-out). */
  private readonly drivers = new Set<Connection>();
  private readonly startFailures = new Map<string, number>();
  private readonly cfg = config();
  private stopping = false;
  /** Outstanding heartbeat probe per worker: when it was sent. */
  private readonly probes = new WeakMap<WorkerProc, number>();
  /** Why this node manager killed a worker, as a predicate ("stopped answering ..."), reported with its exit. */
  private readonly killReasons = new Map<string, string>();
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    opts: NodeManagerOptions,
    private readonly store: ControlStoreClient,
    poolEnv: Record<string, string> = {},
  ) {
    this.nodeId = opts.nodeId ?? randomBytes(8).toString("hex");
    this.resources = new NodeResources(opts.resources, opts.gpuIds);
    this.objectStore = new StoreManager(opts.objectStoreMemory, opts.sessionDir);
    const ctx: PoolContext = {
      nodeId: this.nodeId,
      sessionDir: opts.sessionDir,
      nodeManagerAddress: opts.address,
      logToDriver: opts.logToDriver,
      env: poolEnv,
    };
    this.pool = new WorkerPool(
      ctx,
      (w, code, signal) => this.onWorkerExit(w, code, signal),
      (w) => {
        log.warn(`worker ${w.workerId} (pid ${w.pid}) did not register in time; killing it`);
        this.killReasons.set(w.workerId, "did not register in time and was killed");
        this.pool.kill(w);
      },
    );
    if (this.cfg.heartbeatMs > 0 && this.cfg.heartbeatTimeoutMs > 0) {
      this.heartbeatTimer = setInterval(() => this.probeWorkers(), this.cfg.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    store.registerNode({
      nodeId: this.nodeId,
      address: opts.address,
      hostname: hostname(),
      total: this.resources.total,
      isHead: opts.isHead,
    });
    if (opts.prestartRuntime) this.addRuntime(parseRuntime(opts.prestartRuntime, "prestartRuntime"));
  }

  /** Handle a message addressed to the node manager; throws ProtocolError for a kind it does not serve. */
  handle(msg: Message, conn: Connection): unknown {
    return this.router.handle(msg, conn);
  }

  /** Whether the node manager serves kind `t` (the head routes by it). */
  serves(t: number): boolean {
    return this.router.serves(t);
  }

  /** One handler per kind of NodeManagerService: a missing kind or a wrong reply type does not compile. */
  private readonly router = router<NodeManagerService, Connection>(
    {
      [Msg.RegisterWorker]: (msg, conn) => this.onRegisterWorker(msg.workerId, msg.address, conn),
      [Msg.RegisterDriver]: (msg, conn) => {
        // Validated before anything is started: a peer's message must not pick a command.
        const key = this.addRuntime(parseRegisterDriver(msg));
        this.drivers.add(conn);
        conn.onClose(() => this.drivers.delete(conn));
        return { runtimeKey: key, store: this.objectStore.info };
      },
      [Msg.StoreCreate]: (msg, conn) => this.objectStore.create(msg.id, msg.size, conn),
      [Msg.StoreSeal]: (msg, conn) => this.objectStore.seal(msg.id, conn),
      [Msg.StoreGet]: (msg, conn) => this.objectStore.get(msg.ids, conn),
      [Msg.StoreRelease]: (msg, conn) => this.objectStore.release(msg.ids, conn),
      [Msg.StoreFree]: (msg) => this.objectStore.free(msg.ids),
      [Msg.GetMemoryInfo]: (msg) => this.memoryInfo(msg.collect === true),
      [Msg.GetStoreStats]: () => this.objectStore.stats(this.nodeId),
      [Msg.RequestLease]: (msg, conn) => this.onRequestLease(msg, conn),
      [Msg.CancelLeaseRequest]: (msg, conn) => this.onCancel(msg.req, conn),
      [Msg.ReturnLease]: (msg) => this.onReturnLease(msg.leaseId, msg.kill === true),
      [Msg.WorkerBlocked]: (_msg, conn) => this.onBlocked(conn, true),
      [Msg.WorkerUnblocked]: (_msg, conn) => this.onBlocked(conn, false),
      [Msg.GetNodeResources]: () => this.view(),
    },
    (t) => notServed("the node manager", t),
  );

  /**
   * Every process of this node (drivers and workers) reports its objects (after a full
   * collection when `collect`); unreachable ones are skipped.
   */
  private async memoryInfo(collect: boolean): Promise<ProcessMemoryInfo[]> {
    const conns = [...this.drivers];
    for (const w of this.pool.workers.values()) if (w.conn && !w.conn.isClosed) conns.push(w.conn);
    const answers = await Promise.all(
      conns.map((c) =>
        Promise.race([
          c.request({ t: Msg.GetMemoryInfo, fanout: true, collect }).catch(() => undefined),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000).unref()),
        ]),
      ),
    );
    // Each process answers a one-element array (one reply type per kind, see GetMemoryInfo).
    return answers.flatMap((a) => a ?? []);
  }

  /** Current totals and availability. */
  view(): NodeResourcesView {
    const workers = [...this.pool.workers.values()].map((w) => ({
      workerId: w.workerId,
      pid: w.pid,
      state: w.state,
      nodeId: this.nodeId,
    }));
    return { nodeId: this.nodeId, total: this.resources.total, available: this.resources.available, workers };
  }

  /**
   * A connection closed (its process is gone: connections live as long as their
   * processes): drop its leases and requests, and free the stored objects it owned.
   */
  onDisconnect(conn: Connection): void {
    const freed = this.objectStore.freeOwnedBy(conn.peerId);
    if (freed > 0) log.debug(`freed ${freed} stored objects owned by ${conn.peerId}, which is gone`);
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i]!;
      if (p.conn !== conn) continue;
      this.pending.splice(i, 1);
      if (p.alloc) this.resources.release(p.alloc);
    }
    for (const lease of [...this.leases.values()]) {
      if (lease.owner === conn) {
        this.endLease(lease);
        this.pool.kill(lease.worker);
      }
    }
    this.schedule();
  }

  /** Kill every worker and wait for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const p of this.pending.splice(0)) p.resolve({ cancelled: true });
    await this.pool.killAll();
    this.objectStore.close();
  }

  /** pids of the live worker processes (for tests and `tsray status`). */
  workerPids(): number[] {
    return [...this.pool.workers.values()].map((w) => w.pid);
  }

  /** Register a validated runtime (prestarting its pool). @throws RuntimeUnavailableError for a loader this node cannot run. */
  private addRuntime(choice: RuntimeEnv): string {
    const rt = resolveRuntime(choice);
    if (!this.runtimes.has(rt.key)) {
      this.runtimes.set(rt.key, rt);
      const n =
        this.cfg.prestartWorkers >= 0 ? this.cfg.prestartWorkers : Math.floor(this.resources.total.CPU ?? 0);
      for (let i = 0; i < n; i++) this.pool.start(rt, "");
    }
    return rt.key;
  }

  private onRegisterWorker(workerId: string, address: string, conn: Connection): RegisterWorkerReply {
    const w = this.pool.workers.get(workerId);
    if (!w) throw new Error(`unknown worker ${workerId}: it was not started by this node manager`);
    if (w.startTimer) clearTimeout(w.startTimer);
    w.address = address;
    w.conn = conn;
    w.state = "idle";
    w.idleSince = Date.now();
    conn.state.set("worker", w);
    queueMicrotask(() => this.schedule());
    return { nodeId: this.nodeId, jobId: "", store: this.objectStore.info };
  }

  private onRequestLease(msg: RequestLease, conn: Connection): Promise<LeaseGrant | { cancelled: true }> {
    if (!this.runtimes.has(msg.runtimeKey)) {
      throw new Error(`unknown runtime ${msg.runtimeKey}: the owner must RegisterDriver first`);
    }
    if (!this.resources.feasible(msg.demand)) {
      const reason = infeasibleReason(msg.demand, this.store.nodeTotals()) ?? "no node can run it";
      throw new InfeasibleResourcesError(`cannot schedule a task or actor that ${reason}`);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({
        actor: msg.actor,
        reject,
        rid: msg.rid,
        conn,
        demand: msg.demand,
        runtimeKey: msg.runtimeKey,
        alloc: undefined,
        starting: undefined,
        resolve,
      });
      this.schedule();
    });
  }

  private onCancel(rid: number, conn: Connection): void {
    const i = this.pending.findIndex((p) => p.rid === rid && p.conn === conn);
    if (i < 0) return;
    const [p] = this.pending.splice(i, 1);
    if (p!.alloc) this.resources.release(p!.alloc);
    p!.resolve({ cancelled: true });
    this.schedule();
  }

  private onReturnLease(leaseId: number, kill: boolean): void {
    const lease = this.leases.get(leaseId);
    if (!lease) return;
    this.endLease(lease);
    if (kill || lease.worker.actorId !== undefined) this.pool.kill(lease.worker);
    else if (lease.worker.state === "leased") {
      lease.worker.state = "idle";
      lease.worker.idleSince = Date.now();
      this.trimIdle();
    }
    this.schedule();
  }

  private endLease(lease: Lease): void {
    this.leases.delete(lease.id);
    this.leaseByWorker.delete(lease.worker.workerId);
    this.resources.release(lease.alloc);
    this.publish();
  }

  private onBlocked(conn: Connection, blocked: boolean): void {
    const w = conn.state.get("worker") as WorkerProc | undefined;
    const lease = w && this.leaseByWorker.get(w.workerId);
    if (!lease || lease.blocked === blocked) return;
    lease.blocked = blocked;
    if (blocked) this.resources.releaseCpu(lease.alloc);
    else this.resources.reacquireCpu(lease.alloc);
    if (blocked) this.schedule();
  }

  /** Grant what fits, in arrival order (a request that does not fit does not block others). */
  private schedule(): void {
    if (this.stopping) return;
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.conn.isClosed) {
        this.pending.splice(i--, 1);
        if (p.alloc) this.resources.release(p.alloc);
        continue;
      }
      p.alloc ??= this.resources.allocate(p.demand) ?? undefined;
      if (!p.alloc) continue;
      const gpuEnv = p.alloc.gpuIds.join(",");
      const w = this.takeIdle(p.runtimeKey, gpuEnv);
      if (w) {
        this.pending.splice(i--, 1);
        this.grant(p, w);
      } else if (p.starting?.state !== "starting" || p.starting.killed) {
        // None starting for p (or the one it waited for went to another request or died).
        // Adopt a worker already starting that no request waits for (prestarted, or left by a
        // cancelled request) before starting another: else every cancel would spawn a process.
        p.starting =
          this.unclaimedStarting(p.runtimeKey, gpuEnv) ??
          this.pool.start(this.runtimes.get(p.runtimeKey)!, gpuEnv);
      }
    }
    this.publish();
  }

  private unclaimedStarting(runtimeKey: string, gpuEnv: string): WorkerProc | undefined {
    for (const w of this.pool.workers.values()) {
      if (
        w.state !== "starting" ||
        w.killed ||
        w.runtimeKey !== runtimeKey ||
        w.gpuEnv !== gpuEnv ||
        w.actorId
      )
        continue;
      if (!this.pending.some((q) => q.starting === w)) return w;
    }
    return undefined;
  }

  private takeIdle(runtimeKey: string, gpuEnv: string): WorkerProc | undefined {
    for (const w of this.pool.workers.values()) {
      if (w.state === "idle" && !w.killed && w.runtimeKey === runtimeKey && w.gpuEnv === gpuEnv) return w;
    }
    return undefined;
  }

  private grant(p: Pending, w: WorkerProc): void {
    const lease: Lease = { id: this.nextLease++, alloc: p.alloc!, worker: w, owner: p.conn, blocked: false };
    w.state = "leased";
    if (p.actor !== undefined) {
      // Dedicated for life: keep the shared pool at strength for tasks.
      w.actorId = p.actor;
      this.replenish(w.runtimeKey);
    }
    this.leases.set(lease.id, lease);
    this.leaseByWorker.set(w.workerId, lease);
    p.resolve({
      leaseId: lease.id,
      workerId: w.workerId,
      address: w.address,
      pid: w.pid,
      gpuIds: [...p.alloc!.gpuIds],
    });
  }

  private trimIdle(): void {
    const max =
      this.cfg.maxIdleWorkers >= 0 ? this.cfg.maxIdleWorkers : 2 * Math.ceil(this.resources.total.CPU ?? 1);
    const idle = [...this.pool.workers.values()].filter((w) => w.state === "idle" && !w.killed);
    if (idle.length <= max) return;
    idle.sort((a, b) => a.idleSince - b.idleSince);
    for (const w of idle.slice(0, idle.length - max)) this.pool.kill(w);
  }

  /**
   * Heartbeats: probe every registered worker (one probe outstanding at a time); a
   * worker whose probe has gone unanswered for heartbeatTimeoutMs has a stuck event
   * loop (e.g. a synchronous infinite loop): kill it, so its lease, resources and
   * GPU ids come back and its owner retries (or its actor restarts).
   */
  private probeWorkers(): void {
    if (this.stopping) return;
    const now = Date.now();
    for (const w of this.pool.workers.values()) {
      const conn = w.conn;
      if (!conn || conn.isClosed || (w.state !== "idle" && w.state !== "leased")) continue;
      const sent = this.probes.get(w);
      if (sent === undefined) {
        this.probes.set(w, now);
        conn.request({ t: Msg.WorkerPing }).then(
          () => this.probes.delete(w),
          () => undefined,
        );
      } else if (now - sent > this.cfg.heartbeatTimeoutMs && !this.killReasons.has(w.workerId)) {
        const why =
          `stopped answering heartbeats for ${now - sent} ms (limit ${this.cfg.heartbeatTimeoutMs} ms, ` +
          "TSRAY_HEARTBEAT_TIMEOUT_MS) and was killed";
        log.warn(`worker ${w.workerId} (pid ${w.pid}) is hung: it ${why}`);
        this.killReasons.set(w.workerId, why);
        this.pool.kill(w);
      }
    }
  }

  private onWorkerExit(w: WorkerProc, code: number | null, signal: NodeJS.Signals | null): void {
    const reason = this.killReasons.get(w.workerId);
    this.killReasons.delete(w.workerId);
    if (this.stopping) return;
    log.debug(`worker ${w.workerId} pid ${w.pid} exited (code ${code}, signal ${signal})`);
    this.store.workerExited(w.workerId, w.pid, code, signal, reason);
    if (w.address === "") {
      // Died before registering: a broken runtime (bad flags, loader missing) would loop forever.
      // One killed from outside while starting (a signal not sent here) says nothing about its runtime.
      if (signal === null || reason !== undefined) {
        const n = (this.startFailures.get(w.runtimeKey) ?? 0) + 1;
        this.startFailures.set(w.runtimeKey, n);
        if (n >= 3) {
          this.failRuntime(
            w.runtimeKey,
            `worker processes exit before starting (last: code ${code}, signal ${signal})`,
          );
          return;
        }
      }
    } else {
      this.startFailures.delete(w.runtimeKey);
    }
    const lease = this.leaseByWorker.get(w.workerId);
    if (lease) this.endLease(lease);
    w.conn?.destroy();
    if (w.gpuEnv === "" && w.actorId === undefined) this.replenish(w.runtimeKey);
    this.schedule();
  }

  /** Keep the prestarted task-worker pool of a runtime at strength. */
  private replenish(runtimeKey: string): void {
    const rt = this.runtimes.get(runtimeKey);
    if (!rt || this.stopping) return;
    const want =
      this.cfg.prestartWorkers >= 0 ? this.cfg.prestartWorkers : Math.floor(this.resources.total.CPU ?? 0);
    let have = 0;
    for (const x of this.pool.workers.values()) {
      if (x.runtimeKey === runtimeKey && x.gpuEnv === "" && x.actorId === undefined) have++;
    }
    for (; have < want; have++) this.pool.start(rt, "");
  }

  private failRuntime(runtimeKey: string, why: string): void {
    log.error(`runtime ${runtimeKey}: ${why}; see the worker output above`);
    this.runtimes.delete(runtimeKey);
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.runtimeKey !== runtimeKey) continue;
      this.pending.splice(i--, 1);
      if (p.alloc) this.resources.release(p.alloc);
      p.reject(new RuntimeUnavailableError(`cannot start a worker: ${why}`));
    }
  }

  private publish(): void {
    this.store.heartbeat(this.nodeId, this.resources.available);
  }
}
