import { config } from "../config/index.js";
import { TaskCancelledError, WorkerCrashedError } from "../errors/index.js";
import {
  type LeaseGrant,
  type Message,
  Msg,
  type PushTask,
  type RequestLease,
  type RuntimeEnv,
  type TaskDone,
  type TaskFailed,
} from "../protocol/index.js";
import type { LabelSelector, ResourceMap, SchedulingStrategy } from "../scheduling/index.js";
import { decodeError, encodeError } from "../serialization/index.js";
import type { Connection, Endpoint } from "../transport/index.js";
import { type Clock, realClock, type Timer } from "../util/index.js";
import type { TaskSpec } from "./task-spec.js";

/** The owner-side effects of finished tasks (implemented by the core worker). */
export interface TaskOwner {
  /** Store the return values of a finished task (and refs nested in them). */
  completeReturns(spec: TaskSpec, msg: TaskDone, conn: Connection): void;
  /** Fail every return of a task with an encoded error. */
  failReturns(spec: TaskSpec, error: Uint8Array): void;
}

/** `Lease.idleSince` of a lease that has work (no clock reads a negative time). */
const BUSY = -1;

/** One resource shape's state in {@link TaskSubmitter.snapshot}. */
export interface SubmitterShapeState {
  readonly shape: string;
  readonly queued: number[];
  readonly requests: number[];
  readonly cancelling: number[];
  readonly leases: Array<{ workerId: string; inflight: number[] }>;
}

/** A worker leased from the node manager, to which the owner pushes tasks directly. */
interface Lease {
  readonly grant: LeaseGrant;
  readonly conn: Connection;
  /** The node manager that granted it (returns go there). */
  readonly nm: Connection;
  readonly inflight: Map<number, TaskSpec>;
  idleTimer: Timer | undefined;
  /**
   * When the lease last became idle (clock.now()), BUSY while it has work. Not 0: an
   * injected clock may read 0, and a lease idle since then would never be returned.
   */
  idleSince: number;
  dead: boolean;
  /** Killed by a forced cancel: the other tasks on it are re-run without counting a crash. */
  cancelKill?: boolean;
}

/** One RequestLease in flight: its rid on the connection it went out on. */
interface LeaseAsk {
  readonly rid: number;
  readonly nm: Connection;
}

/** All work of one resource shape (demand and placement): its queue and the leases serving it. */
class Shape {
  readonly queue: TaskSpec[] = [];
  head = 0;
  readonly leases: Lease[] = [];
  /** RequestLease messages in flight, to the local node manager or a spillback target (count toward the work queued). */
  readonly requests = new Set<LeaseAsk>();
  /**
   * rids we sent CancelLeaseRequest for, still unanswered. Kept apart from `requests`: a
   * request being cancelled must not stand in for a new one when work is queued again
   * before its reply (the reply is "cancelled", and nothing would be left asking).
   */
  readonly cancelling = new Set<LeaseAsk>();
  /**
   * Spillbacks whose target is still being dialed: each becomes one request there, so
   * they count toward the requests wanted.
   */
  connecting = 0;
  /** Mean execution time of recent tasks, microseconds (-1: unknown). */
  meanUs = -1;

  constructor(
    readonly key: string,
    readonly demand: ResourceMap,
    readonly strategy: SchedulingStrategy | undefined,
    readonly labelSelector: LabelSelector | undefined,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  shift(): TaskSpec | undefined {
    if (this.head >= this.queue.length) return undefined;
    const t = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return t;
  }

  unshift(t: TaskSpec): void {
    if (this.head > 0) this.queue[--this.head] = t;
    else this.queue.unshift(t);
  }
}

/**
 * Owner-side scheduling of normal tasks (Ray's direct task submitter): per resource
 * shape, lease workers from the node manager, push tasks straight to them
 * (pipelined, depth adapted to task duration), reuse leases while work of the shape
 * is queued, return them when idle. A task whose worker dies is retried up to
 * maxRetries, then fails with WorkerCrashedError.
 */
export class TaskSubmitter {
  private readonly shapes = new Map<string, Shape>();
  private readonly inflight = new Map<number, { spec: TaskSpec; lease: Lease }>();
  private readonly cfg = config();
  private closed = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly nodeManager: () => Connection,
    private readonly runtimeKey: () => string,
    private readonly owner: TaskOwner,
    private readonly clock: Clock = realClock,
    /**
     * The owner's runtime (sent with lease requests to other nodes, which may not know it)
     * and object store (told to each worker once, so large returns reach us inline from
     * another node).
     */
    private readonly identity: () => { runtime?: RuntimeEnv; store?: string } = () => ({}),
  ) {}

  /**
   * What it holds now, per resource shape in first-use order (diagnostics and
   * simulation transcripts): queued task ids, lease requests in flight and being
   * cancelled, and each lease's worker with the task ids in flight on it.
   */
  snapshot(): SubmitterShapeState[] {
    return [...this.shapes.values()].map((s) => ({
      shape: s.key,
      queued: s.queue.slice(s.head).map((t) => t.id),
      requests: [...s.requests].map((r) => r.rid),
      cancelling: [...s.cancelling].map((r) => r.rid),
      leases: s.leases.map((l) => ({ workerId: l.grant.workerId, inflight: [...l.inflight.keys()] })),
    }));
  }

  /** Queue a task whose dependencies are resolved. */
  enqueue(spec: TaskSpec): void {
    let shape = this.shapes.get(spec.shapeKey);
    if (!shape) {
      shape = new Shape(spec.shapeKey, spec.demand, spec.strategy, spec.labelSelector);
      this.shapes.set(spec.shapeKey, shape);
    }
    shape.queue.push(spec);
    this.pump(shape);
  }

  /** Route a TaskDone/TaskFailed from a leased worker; false if it is not a task of this submitter. */
  onReply(msg: TaskDone | TaskFailed, conn: Connection): boolean {
    const entry = this.inflight.get(msg.id);
    if (!entry) return false;
    this.inflight.delete(msg.id);
    const { spec, lease } = entry;
    lease.inflight.delete(msg.id);
    const shape = this.shapes.get(spec.shapeKey)!;
    shape.meanUs = shape.meanUs < 0 ? msg.us : shape.meanUs * 0.8 + msg.us * 0.2;
    if (spec.cancelled) {
      this.owner.failReturns(spec, cancelledError(spec));
    } else if (msg.t === Msg.TaskDone) {
      this.owner.completeReturns(spec, msg, conn);
    } else if (msg.app && this.retryOnException(spec, msg.e)) {
      spec.attempt++;
      shape.unshift(spec);
    } else {
      this.owner.failReturns(spec, msg.e);
    }
    this.pump(shape);
    return true;
  }

  /**
   * Cancel a task (ray.cancel): a queued one fails at once with TaskCancelledError; a
   * pushed one is dropped by its worker if not started, else its result is discarded;
   * with `force` the worker running it is killed. Returns false if it already finished.
   */
  cancel(spec: TaskSpec, force: boolean): boolean {
    const shape = this.shapes.get(spec.shapeKey);
    const entry = this.inflight.get(spec.id);
    if (!entry) {
      const i = shape ? shape.queue.indexOf(spec, shape.head) : -1;
      if (i < 0) return false;
      shape!.queue.splice(i, 1);
      this.owner.failReturns(spec, cancelledError(spec));
      return true;
    }
    spec.cancelled = force ? "force" : true;
    if (force) {
      entry.lease.cancelKill = true;
      this.returnLease(shape!, entry.lease, true);
    } else {
      entry.lease.conn.send({ t: Msg.CancelTask, id: spec.id });
    }
    return true;
  }

  /**
   * A worker handed back pipelined tasks it did not start (the task ahead of them
   * runs long): queue them again, in order, ahead of later work.
   */
  onReturned(ids: number[]): void {
    const shapes = new Set<Shape>();
    for (let i = ids.length - 1; i >= 0; i--) {
      const entry = this.inflight.get(ids[i]!);
      if (!entry) continue;
      this.inflight.delete(ids[i]!);
      entry.lease.inflight.delete(ids[i]!);
      const shape = this.shapes.get(entry.spec.shapeKey)!;
      // Tasks of this shape can run long: stop pipelining deeply until they prove fast again.
      shape.meanUs = Math.max(shape.meanUs, this.cfg.pipelineBudgetMs * 1000);
      shape.unshift(entry.spec);
      shapes.add(shape);
    }
    for (const shape of shapes) this.pump(shape);
  }

  /** Stop: return every lease; queued tasks stay unfinished (the process is going away). */
  close(): void {
    this.closed = true;
    for (const shape of this.shapes.values()) {
      for (const lease of [...shape.leases]) this.returnLease(shape, lease);
    }
  }

  private retryOnException(spec: TaskSpec, encoded: Uint8Array): boolean {
    const re = spec.retryExceptions;
    if (re === false) return false;
    if (spec.maxRetries >= 0 && spec.attempt >= spec.maxRetries) return false;
    if (re === true) return true;
    const err = decodeError(encoded);
    const cause = (err as { cause?: unknown }).cause;
    const name = cause instanceof Error ? cause.constructor.name || cause.name : err.name;
    return re.includes(name);
  }

  private depth(shape: Shape): number {
    if (shape.meanUs < 0) return 1;
    const d = Math.floor((this.cfg.pipelineBudgetMs * 1000) / Math.max(shape.meanUs, 1));
    return Math.max(1, Math.min(this.cfg.maxTasksInFlightPerLease, d));
  }

  private pump(shape: Shape): void {
    if (this.closed) return;
    if (shape.queued > 0) {
      // Fill the least loaded lease first, so work spreads over every worker we hold
      // before any worker gets a second task queued behind its first.
      const depth = this.depth(shape);
      const live = shape.leases.filter((l) => !l.dead);
      while (shape.queued > 0 && live.length > 0) {
        let best = live[0]!;
        for (const l of live) if (l.inflight.size < best.inflight.size) best = l;
        if (best.inflight.size >= depth) break;
        this.push(best, shape.shift()!);
      }
    }
    const queued = shape.queued;
    if (queued > 0) {
      const want = Math.min(this.cfg.maxPendingLeaseRequests, queued);
      // requestLease may fail the queue instead (node manager gone): stop then.
      while (shape.requests.size + shape.connecting < want && shape.queued > 0 && this.requestLease(shape));
    } else {
      for (const ask of shape.requests) this.cancelRequest(shape, ask);
    }
    for (const lease of shape.leases) {
      if (lease.inflight.size === 0 && queued === 0) this.armIdle(shape, lease);
    }
  }

  private push(lease: Lease, spec: TaskSpec): void {
    lease.idleSince = BUSY;
    let fnIds = lease.conn.state.get("fnIds") as Map<string, number> | undefined;
    // The first push over this connection: it also tells the worker our store (PushTask.st).
    const first = !fnIds;
    if (!fnIds) lease.conn.state.set("fnIds", (fnIds = new Map()));
    let fn = fnIds.get(spec.descKey);
    const msg: PushTask = {
      t: Msg.PushTask,
      id: spec.id,
      fn: 0,
      args: spec.args,
      ret: spec.ret,
      nr: spec.returnIds.length,
      att: spec.attempt,
    };
    if (fn === undefined) {
      fn = fnIds.size + 1;
      fnIds.set(spec.descKey, fn);
      msg.fd = spec.desc;
    }
    msg.fn = fn;
    if (spec.deps) msg.dep = spec.deps;
    if (spec.label !== undefined) msg.nm = spec.label;
    if (lease.grant.gpuIds.length > 0) msg.gpu = lease.grant.gpuIds;
    if (first) msg.st = this.identity().store;
    lease.inflight.set(spec.id, spec);
    this.inflight.set(spec.id, { spec, lease });
    lease.conn.send(msg);
  }

  /**
   * Return the lease once it has been idle for leaseIdleMs. One timer per lease,
   * refreshed rather than recreated: a sync caller makes the lease idle after every task.
   */
  private armIdle(shape: Shape, lease: Lease): void {
    if (lease.dead) return;
    if (lease.idleSince === BUSY) lease.idleSince = this.clock.now();
    if (lease.idleTimer) {
      lease.idleTimer.refresh();
      return;
    }
    const check = () => {
      if (lease.dead || lease.inflight.size > 0 || shape.queued > 0 || lease.idleSince === BUSY) return;
      const left = this.cfg.leaseIdleMs - (this.clock.now() - lease.idleSince);
      if (left > 1) {
        lease.idleTimer = this.clock.setTimeout(check, left).unref();
        return;
      }
      this.returnLease(shape, lease);
    };
    lease.idleTimer = this.clock.setTimeout(check, this.cfg.leaseIdleMs).unref();
  }

  private returnLease(shape: Shape, lease: Lease, kill = false): void {
    this.clock.clearTimer(lease.idleTimer);
    lease.idleTimer = undefined;
    const i = shape.leases.indexOf(lease);
    if (i >= 0) shape.leases.splice(i, 1);
    if (lease.dead) return;
    lease.dead = true;
    if (!lease.nm.isClosed)
      this.notifyNodeManager({ t: Msg.ReturnLease, leaseId: lease.grant.leaseId, kill }, lease.nm);
  }

  /** A notification to a node manager (default: the local one); dropped when it is gone (its leases went with it). */
  private notifyNodeManager(msg: Message, nm?: Connection): void {
    try {
      (nm ?? this.nodeManager()).send(msg);
    } catch {
      // node manager unreachable: nothing to return or cancel
    }
  }

  /**
   * Ask for one lease: from the local node manager, or (`spilledTo`) from the node its
   * spillback named, once, with `spilled` set so that node grants or queues it rather
   * than spilling again. False if none can be asked for now (the queue was failed).
   * Every request starts at the local node: its policy decides afresh each time, so
   * SPREAD, node affinity and pack-then-spread are never pinned to an earlier answer.
   */
  private requestLease(shape: Shape, spilledTo?: Connection): boolean {
    let nm: Connection;
    try {
      nm = spilledTo ?? this.nodeManager();
    } catch (err) {
      this.onLeaseError(shape, err);
      return false;
    }
    const ask: LeaseAsk = { rid: nm.peekNextRid(), nm };
    shape.requests.add(ask);
    const msg: Omit<RequestLease, "rid"> = {
      t: Msg.RequestLease,
      demand: shape.demand,
      runtimeKey: this.runtimeKey(),
    };
    if (shape.strategy !== undefined) msg.strategy = shape.strategy;
    if (shape.labelSelector !== undefined) msg.labelSelector = shape.labelSelector;
    if (spilledTo) {
      msg.spilled = true;
      msg.runtime = this.identity().runtime;
    }
    nm.request(msg).then(
      (grant) => {
        shape.requests.delete(ask);
        shape.cancelling.delete(ask);
        if ("spillback" in grant) this.spillTo(shape, grant.spillback.address);
        else void this.onGrant(shape, grant, nm);
      },
      (err: unknown) => {
        const wasCancelled = shape.cancelling.delete(ask);
        shape.requests.delete(ask);
        // A request we had cancelled says nothing about the requests made since; nor does
        // losing a spillback target (the local node decides again, from a newer view).
        if (wasCancelled || (spilledTo && nm.isClosed)) this.pump(shape);
        else this.onLeaseError(shape, nm.isClosed ? this.lossOf(err) : err);
      },
    );
    return true;
  }

  /** Cancel once: the ask moves to `cancelling` (a grant that crosses the cancel is still used). */
  private cancelRequest(shape: Shape, ask: LeaseAsk): void {
    shape.requests.delete(ask);
    shape.cancelling.add(ask);
    if (!ask.nm.isClosed) this.notifyNodeManager({ t: Msg.CancelLeaseRequest, req: ask.rid }, ask.nm);
  }

  /** The local node manager's policy chose the node at `address`: send this request there (one hop). */
  private spillTo(shape: Shape, address: string): void {
    if (this.closed) return;
    shape.connecting++;
    this.endpoint.connect(address).then(
      (conn) => {
        shape.connecting--;
        if (shape.queued > 0 && !this.closed) this.requestLease(shape, conn);
        this.pump(shape);
      },
      (err: unknown) => {
        shape.connecting--;
        this.onLeaseError(shape, err);
      },
    );
  }

  private async onGrant(
    shape: Shape,
    grant: LeaseGrant | { cancelled: true },
    nm: Connection,
  ): Promise<void> {
    if ("cancelled" in grant) {
      this.pump(shape);
      return;
    }
    let conn: Connection;
    try {
      conn = await this.endpoint.connect(grant.address);
    } catch {
      this.notifyNodeManager({ t: Msg.ReturnLease, leaseId: grant.leaseId, kill: true }, nm);
      this.pump(shape);
      return;
    }
    const lease: Lease = {
      grant,
      conn,
      nm,
      inflight: new Map(),
      idleTimer: undefined,
      idleSince: BUSY,
      dead: false,
    };
    if (this.closed) {
      this.returnLease(shape, lease);
      return;
    }
    shape.leases.push(lease);
    conn.onClose(() => this.onWorkerLost(shape, lease));
    this.pump(shape);
  }

  /**
   * Why a lease request failed with `err` when its connection closed: once the local node
   * manager is gone, the core worker's account of that (this process's node died); else `err`.
   */
  private lossOf(err: unknown): unknown {
    try {
      this.nodeManager();
      return err;
    } catch (lost) {
      return lost;
    }
  }

  private onLeaseError(shape: Shape, err: unknown): void {
    if (this.closed) return;
    // Infeasible shape, or node manager unreachable: fail what is queued rather than hang.
    const bytes = encodeError(err);
    for (let t = shape.shift(); t; t = shape.shift()) this.owner.failReturns(t, bytes);
  }

  private onWorkerLost(shape: Shape, lease: Lease): void {
    const wasDead = lease.dead;
    this.returnLease(shape, lease, !wasDead);
    const lost = [...lease.inflight.values()];
    lease.inflight.clear();
    for (const spec of lost) {
      this.inflight.delete(spec.id);
      if (spec.cancelled) {
        this.owner.failReturns(spec, cancelledError(spec));
        continue;
      }
      if (!lease.cancelKill) spec.crashes++;
      spec.attempt++;
      if (spec.maxRetries < 0 || spec.crashes <= spec.maxRetries) {
        shape.unshift(spec);
      } else {
        const err = new WorkerCrashedError(
          `task ${spec.desc.name} failed: the worker running it (pid ${lease.grant.pid}) died; ` +
            `${spec.crashes} attempt${spec.crashes === 1 ? "" : "s"} made (maxRetries=${spec.maxRetries})`,
        );
        this.owner.failReturns(spec, encodeError(err));
      }
    }
    this.pump(shape);
  }
}

function cancelledError(spec: TaskSpec): Uint8Array {
  const how = spec.cancelled === "force" ? "with force (its worker was killed)" : "";
  return encodeError(
    new TaskCancelledError(`task ${spec.label ?? spec.desc.name} was cancelled ${how}`.trim()),
  );
}
