// The worker pool as the node manager sees it: a boundary with a process-spawning
// implementation (worker-pool.ts) and an in-memory one (in-memory-pool.ts).

import type { Connection } from "../transport/index.js";
import type { Clock } from "../util/index.js";
import type { WorkerRuntime } from "./runtime.js";

/** One worker of the pool: what the shell needs to reach it. */
export interface PooledWorker {
  readonly workerId: string;
  /** Its process id (-1 when the spawn failed; then an exit follows). */
  readonly pid: number;
  /** Where it listens, once registered; "" before. */
  readonly address: string;
  /** Its connection to this node manager, once registered. */
  readonly conn: Connection | undefined;
}

/** What a pool reports back (each worker exits exactly once; a start timeout at most once, before registering). */
export interface PoolEvents {
  /** The worker's process is gone (`signal` null for a plain exit); it is out of `workers` already. */
  onExit(worker: PooledWorker, code: number | null, signal: NodeJS.Signals | null): void;
  /** The worker did not register within workerStartTimeoutMs (the pool does not kill it). */
  onStartTimeout(workerId: string): void;
}

/** Static facts every worker of this node is started with. */
export interface PoolContext {
  readonly nodeId: string;
  readonly sessionDir: string;
  readonly nodeManagerAddress: string;
  readonly logToDriver: boolean;
  /** Environment to add to every worker (e.g. the job id). */
  readonly env: Readonly<Record<string, string>>;
  /** Times start timeouts and kill grace. */
  readonly clock: Clock;
}

/**
 * Starts, tracks and kills a node's workers. Ids are chosen by the caller (the lease
 * scheduler) so decisions can name a worker before it exists.
 */
export interface WorkerPool {
  /** Live workers (started, exit not yet reported), in start order. */
  readonly workers: ReadonlyMap<string, PooledWorker>;
  /** Start worker `workerId` (unique) for `runtime` with CUDA_VISIBLE_DEVICES=`gpuEnv`. */
  start(runtime: WorkerRuntime, gpuEnv: string, workerId: string): void;
  /** The worker sent RegisterWorker from `address` over `conn`; undefined for an unknown id. */
  registered(workerId: string, address: string, conn: Connection): PooledWorker | undefined;
  /** SIGKILL it; no-op once exited. The exit is reported through {@link PoolEvents.onExit}. */
  kill(workerId: string): void;
  /** Stop every worker and resolve once all have exited. */
  killAll(): Promise<void>;
}

/** Builds the pool a node manager uses (the default spawns processes). */
export type WorkerPoolFactory = (ctx: PoolContext, events: PoolEvents) => WorkerPool;
