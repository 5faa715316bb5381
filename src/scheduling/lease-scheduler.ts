// LeaseScheduler: one node's worker leases as a pure state machine (events in, decisions out).
import { type LeaseDecisions, type LeaseRequest, noDecisions, type WorkerView } from "./lease-decisions.js";
import { type LeaseWorker, WorkerTable } from "./lease-workers.js";
import type { Allocation, NodeResources } from "./node-resources.js";

/** Exits before registering, in a row, after which a runtime is failed (a broken loader would loop). */
export const MAX_START_FAILURES = 3;

/** Settings of a {@link LeaseScheduler}. */
export interface LeaseSchedulerOptions {
  /** The node's ledger; the scheduler allocates and releases on it (nobody else should). */
  readonly resources: NodeResources;
  /** Worker ids are `<prefix>-w<n>`, n counting from 1. */
  readonly workerIdPrefix: string;
  /** Task workers kept started per runtime; -1 means one per CPU of the node. */
  readonly prestartWorkers: number;
  /** Idle workers kept beyond which the oldest idle ones are killed; -1 means 2 x CPUs. */
  readonly maxIdleWorkers: number;
}

interface Pending<R, O> extends LeaseRequest<R, O> {
  alloc: Allocation | undefined;
  /** The starting worker this request waits for (its claim: no other request adopts it). */
  starting: Worker<R, O> | undefined;
}

type Worker<R, O> = LeaseWorker<Pending<R, O>>;

interface Lease<R, O> {
  readonly id: number;
  readonly alloc: Allocation;
  readonly worker: Worker<R, O>;
  readonly owner: O;
  blocked: boolean;
}

/**
 * Worker leasing for one node, without I/O: it holds the pending requests (arrival
 * order), the leases, its view of the workers and the resource ledger. Each event
 * method updates that state and returns {@link LeaseDecisions} for the shell (the node
 * manager) to carry out: grants to answer, workers to start or kill. Time comes in as
 * an argument; requests and owners are the shell's opaque handles.
 *
 * Contract with the shell: report every started worker's registration and exit, every
 * owner that goes away, and call {@link dispatch} when asked to grant later. Worker
 * state changes only here. Methods throw only for misuse (unknown worker id).
 */
export class LeaseScheduler<R, O> {
  readonly resources: NodeResources;
  readonly #prestart: number;
  readonly #maxIdle: number;
  readonly #runtimes = new Set<string>();
  readonly #pending: Pending<R, O>[] = [];
  readonly #leases = new Map<number, Lease<R, O>>();
  readonly #leaseByWorker = new Map<string, Lease<R, O>>();
  readonly #workers: WorkerTable<Pending<R, O>>;
  readonly #startFailures = new Map<string, number>();
  #nextLease = 1;
  #stopping = false;
  /** Decisions of the event being handled. */
  #out: LeaseDecisions<R> = noDecisions();

  constructor(opts: LeaseSchedulerOptions) {
    this.resources = opts.resources;
    this.#workers = new WorkerTable(opts.workerIdPrefix);
    const cpus = opts.resources.total.CPU;
    this.#prestart = opts.prestartWorkers >= 0 ? opts.prestartWorkers : Math.floor(cpus ?? 0);
    this.#maxIdle = opts.maxIdleWorkers >= 0 ? opts.maxIdleWorkers : 2 * Math.ceil(cpus ?? 1);
  }

  /** Is this runtime known (added and not failed)? */
  hasRuntime(runtimeKey: string): boolean {
    return this.#runtimes.has(runtimeKey);
  }

  /** A worker's current state, undefined once it exited (or for an unknown id). */
  worker(workerId: string): Readonly<WorkerView> | undefined {
    return this.#workers.get(workerId);
  }

  /** How many requests wait for a grant. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** How many leases are held. */
  get leaseCount(): number {
    return this.#leases.size;
  }

  /** A runtime registered: the first time, prestart its pool of task workers. */
  addRuntime(runtimeKey: string): LeaseDecisions<R> {
    const out = this.#begin();
    if (!this.#runtimes.has(runtimeKey)) {
      this.#runtimes.add(runtimeKey);
      for (let i = 0; i < this.#prestart; i++) this.#start(runtimeKey, "");
    }
    return out;
  }

  /** Queue a request and grant what fits. */
  requestLease(req: LeaseRequest<R, O>): LeaseDecisions<R> {
    const out = this.#begin();
    this.#pending.push({ ...req, alloc: undefined, starting: undefined });
    this.#schedule();
    return out;
  }

  /** The owner withdrew request `rid` (no-op when already granted or gone: the owner returns such a lease). */
  cancel(owner: O, rid: number): LeaseDecisions<R> {
    const out = this.#begin();
    const i = this.#pending.findIndex((p) => p.rid === rid && p.owner === owner);
    if (i < 0) return out;
    const p = this.#drop(i);
    out.cancelled.push(p.request);
    this.#schedule();
    return out;
  }

  /**
   * The owner handed lease `leaseId` back. Its worker is killed when `kill` or when it
   * was an actor's; else it is idle from `now` (and the oldest idle beyond the limit die).
   */
  returnLease(leaseId: number, kill: boolean, now: number): LeaseDecisions<R> {
    const out = this.#begin();
    const lease = this.#leases.get(leaseId);
    if (!lease) return out;
    this.#endLease(lease);
    const w = lease.worker;
    if (kill || w.actorId !== undefined) this.#kill(w, undefined);
    else if (w.state === "leased") {
      w.state = "idle";
      w.idleSince = now;
      this.#trimIdle();
    }
    this.#schedule();
    return out;
  }

  /** The owner is gone: its requests are dropped unanswered, its leases end and their workers die. */
  ownerGone(owner: O): LeaseDecisions<R> {
    const out = this.#begin();
    for (let i = this.#pending.length - 1; i >= 0; i--) {
      if (this.#pending[i]!.owner === owner) this.#drop(i);
    }
    for (const lease of [...this.#leases.values()]) {
      if (lease.owner !== owner) continue;
      this.#endLease(lease);
      this.#kill(lease.worker, undefined);
    }
    this.#schedule();
    return out;
  }

  /**
   * The worker sent RegisterWorker: it is idle from `now`. Grants wait for {@link dispatch},
   * which the shell calls after the worker's reply is on its way.
   */
  workerRegistered(workerId: string, now: number): void {
    const w = this.#known(workerId, "workerRegistered");
    w.registered = true;
    w.state = "idle";
    w.idleSince = now;
  }

  /** Grant what fits now. */
  dispatch(): LeaseDecisions<R> {
    const out = this.#begin();
    this.#schedule();
    return out;
  }

  /** The worker did not register in time: kill it (its exit counts as a start failure). */
  workerStartTimedOut(workerId: string, reason: string): LeaseDecisions<R> {
    const out = this.#begin();
    const w = this.#workers.get(workerId);
    if (w?.state !== "starting" || w.killed) return out;
    w.startTimedOut = true;
    this.#kill(w, reason);
    return out;
  }

  /** The worker stopped answering heartbeats: kill it. */
  workerHung(workerId: string, reason: string): LeaseDecisions<R> {
    const out = this.#begin();
    const w = this.#workers.get(workerId);
    if (w) this.#kill(w, reason);
    return out;
  }

  /**
   * A leased worker blocked in `get` (`blocked`) lends its CPU to other requests, or
   * resumed and takes it back (even if that oversubscribes the node).
   */
  workerBlocked(workerId: string, blocked: boolean): LeaseDecisions<R> {
    const out = this.#begin();
    const lease = this.#leaseByWorker.get(workerId);
    if (!lease || lease.blocked === blocked) return out;
    lease.blocked = blocked;
    if (blocked) {
      this.resources.releaseCpu(lease.alloc);
      this.#schedule();
    } else this.resources.reacquireCpu(lease.alloc);
    return out;
  }

  /**
   * A worker process exited (`code`/`signal` as the OS reported them; `signal` null for a plain exit). Its lease ends, the task
   * pool is refilled; the third exit in a row before registering (exits, or kills for
   * not registering in time) fails its runtime.
   */
  workerExited(workerId: string, code: number | null, signal: string | null): LeaseDecisions<R> {
    const out = this.#begin();
    const w = this.#workers.get(workerId);
    if (!w) return out;
    this.#workers.delete(workerId);
    w.state = "dead";
    if (this.#stopping) return out;
    if (!w.registered) {
      // One killed from outside while starting (a signal not sent here) says nothing about its runtime.
      if (signal === null || w.startTimedOut) {
        const n = (this.#startFailures.get(w.runtimeKey) ?? 0) + 1;
        this.#startFailures.set(w.runtimeKey, n);
        if (n >= MAX_START_FAILURES) {
          this.#failRuntime(
            w.runtimeKey,
            `worker processes exit before starting (last: code ${code}, signal ${signal})`,
          );
          return out;
        }
      }
    } else this.#startFailures.delete(w.runtimeKey);
    const lease = this.#leaseByWorker.get(workerId);
    if (lease) this.#endLease(lease);
    if (w.gpuEnv === "" && w.actorId === undefined) this.#replenish(w.runtimeKey);
    this.#schedule();
    return out;
  }

  /** The node is stopping: every pending request is cancelled; nothing is granted or started after. */
  stop(): LeaseDecisions<R> {
    const out = this.#begin();
    this.#stopping = true;
    for (const p of this.#pending.splice(0)) out.cancelled.push(p.request);
    return out;
  }

  #begin(): LeaseDecisions<R> {
    this.#out = noDecisions();
    return this.#out;
  }

  #known(workerId: string, op: string): Worker<R, O> {
    const w = this.#workers.get(workerId);
    if (!w) throw new Error(`LeaseScheduler.${op}: unknown worker ${workerId} (not started here, or exited)`);
    return w;
  }

  /** Grant what fits, in arrival order (a request that does not fit does not block others). */
  #schedule(): void {
    if (this.#stopping) return;
    const pending = this.#pending;
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]!;
      p.alloc ??= this.resources.allocate(p.demand) ?? undefined;
      if (!p.alloc) continue;
      const gpuEnv = p.alloc.gpuIds.join(",");
      const w = this.#workers.takeIdle(p.runtimeKey, gpuEnv);
      if (w) {
        pending.splice(i--, 1);
        this.#unclaim(p);
        this.#grant(p, w);
      } else if (p.starting?.state !== "starting" || p.starting.killed) {
        // None starting for p (or the one it waited for went to another request or died).
        // Adopt a worker already starting that no request waits for (prestarted, or left by a
        // cancelled request) before starting another: else every cancel would spawn a process.
        this.#unclaim(p);
        const s = this.#workers.unclaimedStarting(p.runtimeKey, gpuEnv) ?? this.#start(p.runtimeKey, gpuEnv);
        s.claimedBy = p;
        p.starting = s;
      }
    }
    this.#out.resourcesChanged = true;
  }

  #unclaim(p: Pending<R, O>): void {
    if (p.starting?.claimedBy === p) p.starting.claimedBy = undefined;
    p.starting = undefined;
  }

  /** Remove pending request i, giving back what it had allocated. */
  #drop(i: number): Pending<R, O> {
    const p = this.#pending.splice(i, 1)[0]!;
    this.#unclaim(p);
    if (p.alloc) this.resources.release(p.alloc);
    return p;
  }

  #grant(p: Pending<R, O>, w: Worker<R, O>): void {
    const alloc = p.alloc!;
    const lease: Lease<R, O> = { id: this.#nextLease++, alloc, worker: w, owner: p.owner, blocked: false };
    w.state = "leased";
    if (p.actor !== undefined) {
      // Dedicated for life: keep the shared pool at strength for tasks.
      w.actorId = p.actor;
      this.#replenish(w.runtimeKey);
    }
    this.#leases.set(lease.id, lease);
    this.#leaseByWorker.set(w.workerId, lease);
    this.#out.grant.push({
      request: p.request,
      leaseId: lease.id,
      workerId: w.workerId,
      gpuIds: alloc.gpuIds,
      allocation: alloc,
    });
  }

  #endLease(lease: Lease<R, O>): void {
    this.#leases.delete(lease.id);
    this.#leaseByWorker.delete(lease.worker.workerId);
    this.resources.release(lease.alloc);
    this.#out.resourcesChanged = true;
  }

  #start(runtimeKey: string, gpuEnv: string): Worker<R, O> {
    const w = this.#workers.add(runtimeKey, gpuEnv);
    this.#out.start.push({ workerId: w.workerId, runtimeKey, gpuEnv });
    return w;
  }

  #kill(w: Worker<R, O>, reason: string | undefined): void {
    if (w.state === "dead") return;
    w.killed = true;
    this.#out.kill.push({ workerId: w.workerId, reason });
  }

  #trimIdle(): void {
    const idle = this.#workers.idleOldestFirst();
    if (idle.length <= this.#maxIdle) return;
    for (const w of idle.slice(0, idle.length - this.#maxIdle)) this.#kill(w, undefined);
  }

  /** Keep the prestarted task-worker pool of a runtime at strength. */
  #replenish(runtimeKey: string): void {
    if (!this.#runtimes.has(runtimeKey) || this.#stopping) return;
    for (let have = this.#workers.poolSize(runtimeKey); have < this.#prestart; have++) {
      this.#start(runtimeKey, "");
    }
  }

  #failRuntime(runtimeKey: string, reason: string): void {
    this.#runtimes.delete(runtimeKey);
    const rejected: R[] = [];
    for (let i = 0; i < this.#pending.length; i++) {
      if (this.#pending[i]!.runtimeKey !== runtimeKey) continue;
      rejected.push(this.#drop(i--).request);
    }
    this.#out.failed.push({ runtimeKey, reason, rejected });
    this.#out.resourcesChanged = true;
  }
}
