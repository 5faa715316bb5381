import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config/index.js";
import type { Connection } from "../transport/index.js";
import { entryPoint, log } from "../util/index.js";
import type { WorkerRuntime } from "./runtime.js";

/** One worker process started by this node manager. */
export interface WorkerProc {
  readonly workerId: string;
  readonly runtimeKey: string;
  /** CUDA_VISIBLE_DEVICES it was started with ("" for none). */
  readonly gpuEnv: string;
  readonly child: ChildProcess;
  readonly pid: number;
  state: "starting" | "idle" | "leased" | "dead";
  address: string;
  conn: Connection | undefined;
  idleSince: number;
  startTimer: NodeJS.Timeout | undefined;
  /** Set when the worker is dedicated to an actor. */
  actorId?: string;
  /** SIGKILL sent, exit not yet seen: never lease it (its state is still what it was). */
  killed?: boolean;
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

/** Static facts every worker of this node is started with. */
export interface PoolContext {
  readonly nodeId: string;
  readonly sessionDir: string;
  readonly nodeManagerAddress: string;
  readonly logToDriver: boolean;
  /** Environment to add to every worker (e.g. the job id). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Starts and tracks worker processes. Workers announce themselves with
 * RegisterWorker; until then they are "starting". A worker that does not register
 * within workerStartTimeoutMs is killed. Exits are reported through `onExit`.
 */
export class WorkerPool {
  readonly workers = new Map<string, WorkerProc>();
  private next = 1;
  private readonly entry = workerEntry();
  private readonly cfg = config();
  private logFd: number | undefined;

  constructor(
    private readonly ctx: PoolContext,
    private readonly onExit: (w: WorkerProc, code: number | null, signal: NodeJS.Signals | null) => void,
    private readonly onStartTimeout: (w: WorkerProc) => void,
  ) {}

  /**
   * Start a worker for `runtime` with the given CUDA_VISIBLE_DEVICES. The command is
   * this node's own: its node binary, the loader flags it derived for the runtime, its
   * worker entry and TSRAY_WORKER_EXTRA_ARGV; only the validated cwd and names come
   * from the driver.
   */
  start(runtime: WorkerRuntime, gpuEnv: string): WorkerProc {
    const runtimeKey = runtime.key;
    const workerId = `${this.ctx.nodeId.slice(0, 6)}-w${this.next++}`;
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
    };
    delete env.TSRAY_HEAD_CONFIG;
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
      state: "starting",
      address: "",
      conn: undefined,
      idleSince: 0,
      startTimer: undefined,
    };
    this.workers.set(workerId, w);
    child.on("error", (err) => log.warn(`worker ${workerId} failed to start: ${err.message}`));
    child.on("exit", (code, signal) => {
      if (w.startTimer) clearTimeout(w.startTimer);
      w.state = "dead";
      this.workers.delete(workerId);
      this.onExit(w, code, signal);
    });
    w.startTimer = setTimeout(() => {
      if (w.state === "starting") this.onStartTimeout(w);
    }, this.cfg.workerStartTimeoutMs);
    w.startTimer.unref();
    return w;
  }

  /** Kill one worker (SIGKILL: workers hold no state worth a graceful exit). */
  kill(w: WorkerProc): void {
    if (w.state === "dead") return;
    w.killed = true;
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
      (w) =>
        new Promise<void>((resolve) =>
          w.state === "dead" ? resolve() : w.child.once("exit", () => resolve()),
        ),
    );
    for (const w of all) {
      try {
        w.child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    const grace = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), this.cfg.killGraceMs).unref());
    if ((await Promise.race([Promise.all(exited), grace])) === "timeout") {
      for (const w of all) this.kill(w);
      await Promise.all(exited);
    }
  }

  private logFile(): number {
    this.logFd ??= openSync(join(this.ctx.sessionDir, "workers.log"), "a");
    return this.logFd;
  }
}
