import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config/index.js";
import type { Connection } from "../transport/index.js";
import { entryPoint, log, type Timer } from "../util/index.js";
import type { PoolContext, PoolEvents, PooledWorker, WorkerPool } from "./pool.js";
import type { WorkerRuntime } from "./runtime.js";

/** One worker process started by this node manager. */
export interface WorkerProc extends PooledWorker {
  readonly runtimeKey: string;
  /** CUDA_VISIBLE_DEVICES it was started with ("" for none). */
  readonly gpuEnv: string;
  readonly child: ChildProcess;
  address: string;
  conn: Connection | undefined;
  /** Registered or exited: no start timeout any more. */
  registered: boolean;
  exited: boolean;
  startTimer: Timer | undefined;
}

/** Where the worker entry point is, and its flags (workers collect garbage when idle: --expose-gc). */
function workerEntry(): { file: string; extraArgv: string[] } {
  const entry = entryPoint("worker/main");
  return { file: entry.file, extraArgv: ["--expose-gc", ...entry.execArgv] };
}

/** Drop a repeated `--import X` (the tsx loader of a runtime and of a from-source entry are the same). */
function withoutRepeatedImports(argv: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--import" && i + 1 < argv.length) {
      const target = argv[++i]!;
      if (!seen.has(target)) out.push(a, target);
      seen.add(target);
    } else out.push(a);
  }
  return out;
}

/**
 * Starts and tracks worker processes. Workers announce themselves with
 * RegisterWorker; until then they are "starting". A worker that does not register
 * within workerStartTimeoutMs is reported through `onStartTimeout`; exits through `onExit`.
 */
export class ProcessWorkerPool implements WorkerPool {
  readonly workers = new Map<string, WorkerProc>();
  private readonly entry = workerEntry();
  private readonly cfg = config();
  private logFd: number | undefined;

  constructor(
    private readonly ctx: PoolContext,
    private readonly events: PoolEvents,
  ) {}

  /**
   * Start a worker for `runtime` with the given CUDA_VISIBLE_DEVICES. The command is
   * this node's own: its node binary, the loader flags it derived for the runtime, its
   * worker entry and TSRAY_WORKER_EXTRA_ARGV; only the validated cwd and names come
   * from the driver.
   */
  start(runtime: WorkerRuntime, gpuEnv: string, workerId: string): void {
    const runtimeKey = runtime.key;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.ctx.env,
      TSRAY_WORKER_ID: workerId,
      TSRAY_NODE_ID: this.ctx.nodeId,
      TSRAY_NM_ADDRESS: this.ctx.nodeManagerAddress,
      TSRAY_SESSION_DIR: this.ctx.sessionDir,
      TSRAY_RUNTIME_KEY: runtimeKey,
      // msgpackr's native string decoder costs ~6 MB per process; envelopes are small.
      MSGPACKR_NATIVE_ACCELERATION_DISABLED: process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ?? "true",
      TSRAY_JOB_ID: runtime.jobId,
      TSRAY_NAMESPACE: runtime.namespace,
      // The runtime as a driver declared it: actors this worker creates carry it to their node.
      TSRAY_RUNTIME: JSON.stringify({
        loader: runtime.loader,
        cwd: runtime.cwd,
        jobId: runtime.jobId,
        namespace: runtime.namespace,
      }),
    };
    delete env.TSRAY_HEAD_CONFIG;
    delete env.TSRAY_NODE_CONFIG;
    // Always set, "" for workers without GPUs: they must not inherit the driver's list
    // and use GPUs other holders were given (SPEC 13).
    env.CUDA_VISIBLE_DEVICES = gpuEnv;
    const out = this.ctx.logToDriver ? "inherit" : this.logFile();
    const extra = this.cfg.workerExtraArgv ? this.cfg.workerExtraArgv.split(" ").filter(Boolean) : [];
    const child = spawn(
      process.execPath,
      [
        ...withoutRepeatedImports([...runtime.loaderArgv, ...this.entry.extraArgv]),
        ...extra,
        this.entry.file,
      ],
      {
        cwd: runtime.cwd,
        env,
        stdio: ["ignore", out, out],
      },
    );
    const w: WorkerProc = {
      workerId,
      runtimeKey,
      gpuEnv,
      child,
      pid: child.pid ?? -1,
      address: "",
      conn: undefined,
      registered: false,
      exited: false,
      startTimer: undefined,
    };
    this.workers.set(workerId, w);
    child.on("error", (err) => log.warn(`worker ${workerId} failed to start: ${err.message}`));
    child.on("exit", (code, signal) => {
      this.ctx.clock.clearTimer(w.startTimer);
      w.exited = true;
      this.workers.delete(workerId);
      this.events.onExit(w, code, signal);
    });
    w.startTimer = this.ctx.clock.setTimeout(() => {
      if (!w.registered && !w.exited) this.events.onStartTimeout(workerId);
    }, this.cfg.workerStartTimeoutMs);
    w.startTimer.unref();
  }

  registered(workerId: string, address: string, conn: Connection): WorkerProc | undefined {
    const w = this.workers.get(workerId);
    if (!w) return undefined;
    this.ctx.clock.clearTimer(w.startTimer);
    w.registered = true;
    w.address = address;
    w.conn = conn;
    return w;
  }

  /** Kill one worker (SIGKILL: workers hold no state worth a graceful exit). */
  kill(workerId: string): void {
    const w = this.workers.get(workerId);
    if (!w || w.exited) return;
    try {
      w.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Kill every worker and resolve once all have exited (bounded by killGraceMs). */
  async killAll(): Promise<void> {
    const all = [...this.workers.values()];
    const exited = all.map(
      (w) => new Promise<void>((resolve) => (w.exited ? resolve() : w.child.once("exit", () => resolve()))),
    );
    for (const w of all) {
      try {
        w.child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    const grace = new Promise<"timeout">((r) =>
      this.ctx.clock.setTimeout(() => r("timeout"), this.cfg.killGraceMs).unref(),
    );
    if ((await Promise.race([Promise.all(exited), grace])) === "timeout") {
      for (const w of all) this.kill(w.workerId);
      await Promise.all(exited);
    }
  }

  private logFile(): number {
    this.logFd ??= openSync(join(this.ctx.sessionDir, "workers.log"), "a");
    return this.logFd;
  }
}
