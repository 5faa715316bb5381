// A worker pool without processes: for running node managers deterministically in one process.
import type { Connection } from "../transport/index.js";
import type { PoolEvents, PooledWorker, WorkerPool } from "./pool.js";
import type { WorkerRuntime } from "./runtime.js";

/** A worker of an {@link InMemoryWorkerPool}: nothing runs; the test plays its part. */
export interface InMemoryWorker extends PooledWorker {
  readonly runtimeKey: string;
  readonly gpuEnv: string;
  /** The runtime it was started for (what a process would have been spawned with). */
  readonly runtime: WorkerRuntime;
  address: string;
  conn: Connection | undefined;
  /** A kill was asked for (its exit is reported in a later microtask). */
  killed: boolean;
}

/**
 * {@link WorkerPool} that starts nothing: `start` records a worker with a made-up pid
 * (from 1e6 up, so it names no real process), the caller registers it over a real
 * connection (RegisterWorker) or ends it with {@link exit}; `kill` reports the exit
 * (SIGKILL) in a microtask, as a real exit comes after the kill returns.
 */
export class InMemoryWorkerPool implements WorkerPool {
  readonly workers = new Map<string, InMemoryWorker>();
  /** Every worker ever started, in order. */
  readonly started: InMemoryWorker[] = [];
  #nextPid = 1_000_000;
  /** Called after a start is recorded, in the same turn (a simulation boots the worker's core worker here). */
  onStart: ((w: InMemoryWorker) => void) | undefined;

  constructor(private readonly events: PoolEvents) {}

  start(runtime: WorkerRuntime, gpuEnv: string, workerId: string): void {
    if (this.workers.has(workerId)) throw new Error(`InMemoryWorkerPool.start: worker ${workerId} exists`);
    const w: InMemoryWorker = {
      workerId,
      pid: this.#nextPid++,
      runtimeKey: runtime.key,
      gpuEnv,
      runtime,
      address: "",
      conn: undefined,
      killed: false,
    };
    this.workers.set(workerId, w);
    this.started.push(w);
    this.onStart?.(w);
  }

  registered(workerId: string, address: string, conn: Connection): InMemoryWorker | undefined {
    const w = this.workers.get(workerId);
    if (!w) return undefined;
    w.address = address;
    w.conn = conn;
    return w;
  }

  kill(workerId: string): void {
    const w = this.workers.get(workerId);
    if (!w || w.killed) return;
    w.killed = true;
    queueMicrotask(() => this.exit(workerId, null, "SIGKILL"));
  }

  /** The worker "exits" now (no-op once gone). */
  exit(workerId: string, code: number | null, signal: NodeJS.Signals | null): void {
    const w = this.workers.get(workerId);
    if (!w) return;
    this.workers.delete(workerId);
    this.events.onExit(w, code, signal);
  }

  /** Report that the worker did not register in time (as the real pool's timer does). */
  timeOutStart(workerId: string): void {
    if (this.workers.get(workerId)?.address === "") this.events.onStartTimeout(workerId);
  }

  async killAll(): Promise<void> {
    for (const id of [...this.workers.keys()]) this.exit(id, null, "SIGTERM");
  }
}
