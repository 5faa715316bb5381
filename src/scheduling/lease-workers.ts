// The lease scheduler's table of workers: ids, states, and the lookups a grant needs.
import type { WorkerView } from "./lease-decisions.js";

/** A worker view plus the request (of type `C`) that waits for it while it starts. */
export interface LeaseWorker<C> extends WorkerView {
  /** At most one request claims a starting worker; others start or adopt another. */
  claimedBy: C | undefined;
}

/**
 * Every worker started and not yet exited, in start order (lookups scan in that order,
 * so the oldest matching worker is used first). Ids are `<prefix>-w<n>`, n from 1.
 */
export class WorkerTable<C> {
  readonly #byId = new Map<string, LeaseWorker<C>>();
  #next = 1;

  constructor(private readonly prefix: string) {}

  /** The worker with this id, undefined once it exited. */
  get(workerId: string): LeaseWorker<C> | undefined {
    return this.#byId.get(workerId);
  }

  /** Forget an exited worker. */
  delete(workerId: string): void {
    this.#byId.delete(workerId);
  }

  /** A new starting worker under the next id. */
  add(runtimeKey: string, gpuEnv: string): LeaseWorker<C> {
    const w: LeaseWorker<C> = {
      workerId: `${this.prefix}-w${this.#next++}`,
      runtimeKey,
      gpuEnv,
      state: "starting",
      registered: false,
      idleSince: 0,
      actorId: undefined,
      killed: false,
      startTimedOut: false,
      claimedBy: undefined,
    };
    this.#byId.set(w.workerId, w);
    return w;
  }

  /** An idle worker of this runtime and GPU list that is not being killed. */
  takeIdle(runtimeKey: string, gpuEnv: string): LeaseWorker<C> | undefined {
    for (const w of this.#byId.values()) {
      if (w.state === "idle" && !w.killed && w.runtimeKey === runtimeKey && w.gpuEnv === gpuEnv) return w;
    }
    return undefined;
  }

  /** A starting task worker of this runtime and GPU list that no request claims (prestarted, or left by a cancel). */
  unclaimedStarting(runtimeKey: string, gpuEnv: string): LeaseWorker<C> | undefined {
    for (const w of this.#byId.values()) {
      if (
        w.state === "starting" &&
        !w.killed &&
        w.claimedBy === undefined &&
        w.actorId === undefined &&
        w.runtimeKey === runtimeKey &&
        w.gpuEnv === gpuEnv
      )
        return w;
    }
    return undefined;
  }

  /** Idle workers not being killed, longest idle first. */
  idleOldestFirst(): LeaseWorker<C>[] {
    const idle = [...this.#byId.values()].filter((w) => w.state === "idle" && !w.killed);
    return idle.sort((a, b) => a.idleSince - b.idleSince);
  }

  /** Task-pool workers of a runtime (no GPU list, not an actor's), in any state, killed ones included. */
  poolSize(runtimeKey: string): number {
    let n = 0;
    for (const x of this.#byId.values()) {
      if (x.runtimeKey === runtimeKey && x.gpuEnv === "" && x.actorId === undefined) n++;
    }
    return n;
  }
}
