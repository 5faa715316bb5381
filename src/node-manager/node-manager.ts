import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { config } from "../config/index.js";
import { InfeasibleResourcesError, ProtocolError, RuntimeUnavailableError } from "../errors/index.js";
import { type Dial, ObjectPuller, StoreManager } from "../object-store/index.js";
import {
  type LeaseGrant,
  type LeaseReply,
  type Message,
  Msg,
  type NodeInfo,
  type NodeManagerService,
  type NodeResourcesView,
  type ProcessMemoryInfo,
  type RegisterWorkerReply,
  type RequestLease,
  type RuntimeEnv,
  router,
} from "../protocol/index.js";
import {
  ClusterPolicy,
  type ClusterView,
  type LeaseDecisions,
  LeaseScheduler,
  NodeResources,
  type ResourceMap,
  routeLease,
  validateLabelSelector,
  validateNodeLabels,
  validateSchedulingStrategy,
} from "../scheduling/index.js";
import { type Connection, notServed } from "../transport/index.js";
import { type Clock, log, realClock, type Timer } from "../util/index.js";
import type { PoolContext, PooledWorker, WorkerPool, WorkerPoolFactory } from "./pool.js";
import { parseRegisterDriver, parseRuntime, resolveRuntime, type WorkerRuntime } from "./runtime.js";
import { ProcessWorkerPool } from "./worker-pool.js";

/** What the node manager needs from the control store (in-process on the head, remote elsewhere). */
export interface ControlStoreClient {
  registerNode(info: {
    nodeId: string;
    address: string;
    hostname: string;
    total: ResourceMap;
    isHead: boolean;
    labels: Record<string, string>;
  }): void;
  heartbeat(nodeId: string, available: ResourceMap): void;
  /** Totals of every live node, for the infeasibility check. */
  nodeTotals(): ResourceMap[];
  /** Every node as last known (for spillback): the head's own view, or a cache refreshed with heartbeats. */
  nodes(): NodeInfo[];
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
  /** The node's labels, matched by label selectors (validated here: a bad one throws TypeError). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly logToDriver: boolean;
  readonly isHead: boolean;
  /** Runtime to prestart workers for before any driver registers (embedded mode). */
  readonly prestartRuntime?: RuntimeEnv;
  /** Capacity of the node's shared-memory object store, bytes. */
  readonly objectStoreMemory: number;
  /** Where this node's workers reach it (a Unix socket), when not `address` (the advertised, TCP one). */
  readonly workerAddress?: string;
  /** The control store's address (default: `address`, i.e. this is the head's node manager). */
  readonly controlStoreAddress?: string;
  /** The IP its processes listen on for other machines (TCP clusters); unset: Unix sockets only. */
  readonly nodeIp?: string;
  /** Builds the worker pool; the default spawns worker processes (tests pass an in-memory one). */
  readonly workerPool?: WorkerPoolFactory;
  /** Times heartbeats, start timeouts, kill grace and idle ages (default: real time). */
  readonly clock?: Clock;
  /**
   * Connects to other nodes' node managers and to object owners, to pull objects
   * stored elsewhere (StorePull); unset: this node cannot pull (embedded, one node).
   */
  readonly dial?: Dial;
}

/** The shell's handle of one lease request: how to answer it. */
interface RequestHandle {
  readonly resolve: (g: LeaseGrant | { cancelled: true }) => void;
  readonly reject: (e: Error) => void;
}

type Decisions = LeaseDecisions<RequestHandle>;

/**
 * Ray's raylet for one machine: resource accounting, a pool of pre-started worker
 * processes, and worker leases. Owners lease a worker for a resource shape and then
 * talk to it directly; the node manager is not on the task path.
 *
 * A thin shell: lease decisions are made by the pure {@link LeaseScheduler}; this class
 * turns messages, connection closes, process exits and timers into its events and
 * carries out its decisions (answer requests, start and kill workers through the pool).
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
  /** Pulls objects from other nodes' stores into this one (only a node others can reach). */
  private readonly puller: ObjectPuller | undefined;
  private readonly pool: WorkerPool;
  private readonly leases: LeaseScheduler<RequestHandle, Connection>;
  private readonly runtimes = new Map<string, WorkerRuntime>();
  /** Connections of registered drivers (for memory fan-out). */
  private readonly drivers = new Set<Connection>();
  private readonly cfg = config();
  private stopping = false;
  /** Outstanding heartbeat probe per worker: when it was sent. */
  private readonly probes = new WeakMap<PooledWorker, number>();
  /** Why this node manager killed a worker, as a predicate ("stopped answering ..."), reported with its exit. */
  private readonly killReasons = new Map<string, string>();
  private heartbeatTimer: Timer | undefined;
  private readonly clock: Clock;
  private readonly controlStoreAddress: string;
  /** The node's labels (for its own entry in the cluster view). */
  readonly labels: Readonly<Record<string, string>>;
  /** Cluster placement of task lease requests; keeps SPREAD's round-robin cursor. */
  private readonly policy = new ClusterPolicy();

  constructor(
    opts: NodeManagerOptions,
    private readonly store: ControlStoreClient,
    poolEnv: Record<string, string> = {},
  ) {
    this.nodeId = opts.nodeId ?? randomBytes(8).toString("hex");
    this.clock = opts.clock ?? realClock;
    this.controlStoreAddress = opts.isHead ? "" : (opts.controlStoreAddress ?? opts.address);
    this.resources = new NodeResources(opts.resources, opts.gpuIds);
    this.labels = validateNodeLabels(opts.labels, "node manager labels");
    this.leases = new LeaseScheduler({
      resources: this.resources,
      workerIdPrefix: this.nodeId.slice(0, 6),
      prestartWorkers: this.cfg.prestartWorkers,
      maxIdleWorkers: this.cfg.maxIdleWorkers,
    });
    const reachable = opts.address.startsWith("tcp://") ? opts.address : undefined;
    this.objectStore = new StoreManager(opts.objectStoreMemory, opts.sessionDir, this.clock, reachable);
    this.puller =
      opts.dial && reachable
        ? new ObjectPuller(this.objectStore, opts.dial, reachable, {
            chunkBytes: Math.min(this.cfg.objectChunkBytes, this.cfg.maxFrameBytes - 1024),
            chunksInFlight: this.cfg.objectChunksInFlight,
          })
        : undefined;
    const ctx: PoolContext = {
      nodeId: this.nodeId,
      sessionDir: opts.sessionDir,
      nodeManagerAddress: opts.workerAddress ?? opts.address,
      logToDriver: opts.logToDriver,
      env: {
        ...poolEnv,
        ...(opts.nodeIp ? { TSRAY_NODE_IP: opts.nodeIp } : {}),
        // A worker node's workers send control-store messages (actor lookups) to the head.
        ...(this.controlStoreAddress && this.controlStoreAddress !== opts.address
          ? { TSRAY_CONTROL_STORE_ADDRESS: this.controlStoreAddress }
          : {}),
      },
      clock: this.clock,
    };
    const makePool = opts.workerPool ?? ((c, events) => new ProcessWorkerPool(c, events));
    this.pool = makePool(ctx, {
      onExit: (w, code, signal) => this.onWorkerExit(w, code, signal),
      onStartTimeout: (id) => {
        const w = this.pool.workers.get(id);
        log.warn(`worker ${id} (pid ${w?.pid}) did not register in time; killing it`);
        this.apply(this.leases.workerStartTimedOut(id, "did not register in time and was killed"));
      },
    });
    if (this.cfg.heartbeatMs > 0 && this.cfg.heartbeatTimeoutMs > 0) {
      this.heartbeatTimer = this.clock.setInterval(() => this.probeWorkers(), this.cfg.heartbeatMs);
      this.heartbeatTimer.unref();
    }
    store.registerNode({
      nodeId: this.nodeId,
      address: opts.address,
      hostname: hostname(),
      total: this.resources.total,
      isHead: opts.isHead,
      labels: { ...this.labels },
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
      [Msg.StorePull]: (msg) => {
        if (!this.puller)
          throw new ProtocolError(
            `node ${this.nodeId} cannot pull objects: it is not reachable by other nodes`,
          );
        return this.puller.pull(msg);
      },
      [Msg.StoreReadChunk]: (msg, conn) => ({
        d: this.objectStore.readChunk(msg.id, msg.offset, msg.length, conn),
      }),
      [Msg.GetMemoryInfo]: (msg) => this.memoryInfo(msg.collect === true),
      [Msg.GetStoreStats]: () => this.objectStore.stats(this.nodeId),
      [Msg.RequestLease]: (msg, conn) => this.onRequestLease(msg, conn),
      [Msg.CancelLeaseRequest]: (msg, conn) => {
        this.apply(this.leases.cancel(conn, msg.req));
      },
      [Msg.ReturnLease]: (msg) => {
        this.apply(this.leases.returnLease(msg.leaseId, msg.kill === true, this.clock.now()));
      },
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
          new Promise<undefined>((r) => this.clock.setTimeout(() => r(undefined), 5000).unref()),
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
      state: this.leases.worker(w.workerId)?.state ?? "dead",
      nodeId: this.nodeId,
    }));
    return {
      nodeId: this.nodeId,
      controlStore: this.controlStoreAddress,
      total: this.resources.total,
      available: this.resources.available,
      workers,
    };
  }

  /**
   * A connection closed (its process is gone: connections live as long as their
   * processes): drop its leases and requests, and free the stored objects it owned.
   */
  onDisconnect(conn: Connection): void {
    const freed = this.objectStore.freeOwnedBy(conn.peerId);
    if (freed > 0) log.debug(`freed ${freed} stored objects owned by ${conn.peerId}, which is gone`);
    this.apply(this.leases.ownerGone(conn));
  }

  /** Kill every worker and wait for them to exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.clock.clearTimer(this.heartbeatTimer);
    this.apply(this.leases.stop());
    await this.pool.killAll();
    this.objectStore.close();
  }

  /** Lease requests waiting for a grant and leases held (diagnostics, simulation transcripts). */
  leaseCounts(): { pending: number; leases: number } {
    return { pending: this.leases.pendingCount, leases: this.leases.leaseCount };
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
      this.apply(this.leases.addRuntime(rt.key));
    }
    return rt.key;
  }

  private onRegisterWorker(workerId: string, address: string, conn: Connection): RegisterWorkerReply {
    const w = this.pool.registered(workerId, address, conn);
    if (!w) throw new ProtocolError(`unknown worker ${workerId}: it was not started by this node manager`);
    conn.state.set("worker", workerId);
    this.leases.workerRegistered(workerId, this.clock.now());
    // Grants to it wait until this reply is on its way: the worker learns its node first.
    queueMicrotask(() => this.apply(this.leases.dispatch()));
    return { nodeId: this.nodeId, jobId: "", store: this.objectStore.info };
  }

  /** Every node as this node knows it, its own entry with its own (freshest) numbers. */
  private clusterView(): ClusterView {
    const view = this.store
      .nodes()
      .filter((n) => n.nodeId !== this.nodeId)
      .map((n) => ({
        nodeId: n.nodeId,
        total: n.total,
        available: n.available ?? n.total,
        labels: n.labels ?? {},
        alive: n.alive,
      }));
    view.push({
      nodeId: this.nodeId,
      total: this.resources.total,
      available: this.resources.available,
      labels: this.labels,
      alive: true,
    });
    return view;
  }

  private onRequestLease(msg: RequestLease, conn: Connection): LeaseReply | Promise<LeaseReply> {
    if (!this.leases.hasRuntime(msg.runtimeKey) && msg.runtime !== undefined) {
      // Validated as a RegisterDriver's: a peer's message must not pick a command.
      const key = this.addRuntime(parseRuntime(msg.runtime, "RequestLease.runtime"));
      if (key !== msg.runtimeKey) {
        throw new ProtocolError(
          `RequestLease: runtime key ${msg.runtimeKey} does not match its runtime (${key} here)`,
        );
      }
    }
    if (!this.leases.hasRuntime(msg.runtimeKey)) {
      throw new ProtocolError(`unknown runtime ${msg.runtimeKey}: the owner must RegisterDriver first`);
    }
    if (msg.actor === undefined) {
      // Actors were placed by the head; a task's node is chosen here, by the cluster policy.
      const route = routeLease(
        this.policy,
        {
          demand: msg.demand,
          strategy: validateSchedulingStrategy(msg.strategy, "RequestLease"),
          labelSelector: validateLabelSelector(msg.labelSelector, "RequestLease"),
          spilled: msg.spilled === true,
        },
        this.clusterView(),
        this.nodeId,
      );
      if (route.kind === "infeasible") {
        const sep = route.reason.startsWith("needs ") ? " that " : ": ";
        throw new InfeasibleResourcesError(`cannot schedule a task or actor${sep}${route.reason}`);
      }
      if (route.kind === "spill") {
        const there = this.store.nodes().find((n) => n.nodeId === route.nodeId)!;
        return { spillback: { nodeId: there.nodeId, address: there.address } };
      }
    } else if (!this.resources.feasible(msg.demand)) {
      const has = Object.entries(this.resources.total)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ");
      throw new InfeasibleResourcesError(
        `cannot schedule an actor on node ${this.nodeId} (it has ${has || "nothing"}): its demand does not fit`,
      );
    }
    return new Promise((resolve, reject) => {
      this.apply(
        this.leases.requestLease({
          request: { resolve, reject },
          owner: conn,
          rid: msg.rid,
          actor: msg.actor,
          demand: msg.demand,
          runtimeKey: msg.runtimeKey,
        }),
      );
    });
  }

  private onBlocked(conn: Connection, blocked: boolean): void {
    const workerId = conn.state.get("worker") as string | undefined;
    if (workerId !== undefined) this.apply(this.leases.workerBlocked(workerId, blocked));
  }

  /** Carry out the scheduler's decisions. */
  private apply(d: Decisions): void {
    for (const k of d.kill) {
      if (k.reason !== undefined) this.killReasons.set(k.workerId, k.reason);
      this.pool.kill(k.workerId);
    }
    for (const s of d.start) this.pool.start(this.runtimes.get(s.runtimeKey)!, s.gpuEnv, s.workerId);
    for (const g of d.grant) {
      const w = this.pool.workers.get(g.workerId)!;
      g.request.resolve({
        leaseId: g.leaseId,
        workerId: g.workerId,
        address: w.address,
        pid: w.pid,
        gpuIds: [...g.gpuIds],
      });
    }
    for (const r of d.cancelled) r.resolve({ cancelled: true });
    for (const f of d.failed) {
      log.error(`runtime ${f.runtimeKey}: ${f.reason}; see the worker output above`);
      this.runtimes.delete(f.runtimeKey);
      for (const r of f.rejected) r.reject(new RuntimeUnavailableError(`cannot start a worker: ${f.reason}`));
    }
    if (d.resourcesChanged) this.store.heartbeat(this.nodeId, this.resources.available);
  }

  /**
   * Heartbeats: probe every registered worker (one probe outstanding at a time); a
   * worker whose probe has gone unanswered for heartbeatTimeoutMs has a stuck event
   * loop (e.g. a synchronous infinite loop): kill it, so its lease, resources and
   * GPU ids come back and its owner retries (or its actor restarts).
   */
  private probeWorkers(): void {
    if (this.stopping) return;
    const now = this.clock.now();
    for (const w of this.pool.workers.values()) {
      const conn = w.conn;
      const state = this.leases.worker(w.workerId)?.state;
      if (!conn || conn.isClosed || (state !== "idle" && state !== "leased")) continue;
      const sent = this.probes.get(w);
      if (sent === undefined) {
        this.probes.set(w, now);
        conn.request({ t: Msg.WorkerPing }).then(
          () => this.probes.delete(w),
          () => undefined,
        );
      } else if (now - sent > this.cfg.heartbeatTimeoutMs && !this.killReasons.has(w.workerId)) {
        const why =
          `stopped answering heartbeats for ${Math.round(now - sent)} ms (limit ${this.cfg.heartbeatTimeoutMs} ms, ` +
          "TSRAY_HEARTBEAT_TIMEOUT_MS) and was killed";
        log.warn(`worker ${w.workerId} (pid ${w.pid}) is hung: it ${why}`);
        this.apply(this.leases.workerHung(w.workerId, why));
      }
    }
  }

  private onWorkerExit(w: PooledWorker, code: number | null, signal: NodeJS.Signals | null): void {
    const reason = this.killReasons.get(w.workerId);
    this.killReasons.delete(w.workerId);
    const d = this.leases.workerExited(w.workerId, code, signal);
    if (this.stopping) return;
    log.debug(`worker ${w.workerId} pid ${w.pid} exited (code ${code}, signal ${signal})`);
    this.store.workerExited(w.workerId, w.pid, code, signal, reason);
    this.apply(d);
    // After the exit's decisions: closing its connection ends what it owned as a driver
    // of nested tasks (onDisconnect), which is a new event for the scheduler.
    w.conn?.destroy();
  }
}
