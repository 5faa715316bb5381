import { importMark, loadTarget, settledSince } from "../code-loading/index.js";
import { RayTaskError } from "../errors/index.js";
import {
  type ActorAck,
  type ActorSpec,
  type CreateActor,
  Msg,
  type PushActorTask,
} from "../protocol/index.js";
import { classesSettled, decode, encodeError } from "../serialization/index.js";
import type { Connection } from "../transport/index.js";
import { Checkpointer } from "./checkpoint.js";
import type { TaskContext } from "./context.js";
import { type ExecutorHost, OWNER_STORE, sendDone } from "./task-executor.js";

interface Call {
  msg: PushActorTask;
  conn: Connection;
  /** Stream key of a sequenced call (checkpointed actors). */
  key?: string;
  /** importMark() when the call started: imports since then may hold its return value's classes. */
  mark?: number;
}

/** The methods a checkpointed actor class defines. */
interface Checkpointable {
  saveCheckpoint(): unknown;
  restoreCheckpoint(state: unknown): unknown;
}

class DependencyFailed {
  constructor(readonly encoded: Uint8Array) {}
}

/** restoreCheckpoint() threw (reported as itself, not as a constructor error). */
class RestoreFailed {
  constructor(readonly error: RayTaskError) {}
}

/**
 * Worker side of an actor: holds the instance and runs method calls. Calls start
 * in arrival order (each caller's calls arrive in its submission order); at most
 * maxConcurrency run at once, so async methods interleave at `await` points and
 * sync methods (maxConcurrency 1) run strictly one at a time.
 *
 * Checkpointed actors (checkpointEvery, with saveCheckpoint/restoreCheckpoint):
 * the latest checkpoint is restored right after the constructor on a restart;
 * re-sent calls it already covers are dropped; snapshots are taken between calls
 * (no call running) and committed through a Checkpointer.
 */
export class ActorExecutor {
  private instance: Record<string, unknown> | undefined;
  private spec: ActorSpec | undefined;
  private readonly queue: Call[] = [];
  private head = 0;
  private running = 0;
  private ckpt: Checkpointer | undefined;
  /** An async saveCheckpoint() is running: no call starts meanwhile. */
  private saving = false;

  private readonly current: TaskContext;

  constructor(
    private readonly host: ExecutorHost,
    /** The control store, where checkpoints are kept. */
    private readonly controlStore: () => Connection,
  ) {
    this.current = host.context;
  }

  /** Become the actor: load the class, resolve arguments, construct. Throws the constructor's error as RayTaskError. */
  async create(msg: CreateActor): Promise<Record<string, never>> {
    if (this.spec) throw new Error(`this worker already hosts actor ${this.spec.actorId}`);
    const { spec } = msg;
    this.spec = spec;
    this.current.actorId = spec.actorId;
    this.current.gpuIds = msg.gpu;
    if (msg.gpu.length > 0) process.env.CUDA_VISIBLE_DEVICES = msg.gpu.join(",");
    try {
      const Cls = (await loadTarget(spec.desc)) as new (...a: unknown[]) => Record<string, unknown>;
      const args = await this.resolveArgs(spec.args, spec.dep);
      const instance = new Cls(...args);
      if (spec.checkpointEvery && isCheckpointable(instance)) {
        const ckpt = new Checkpointer(
          spec.actorId,
          msg.inc ?? 1,
          spec.checkpointEvery,
          this.controlStore,
          () => this.pump(),
          this.host.clock,
        );
        if (msg.ckpt) {
          const where = `${spec.className}.restoreCheckpoint`;
          try {
            const state = decode(msg.ckpt.state, this.host.scope);
            await classesSettled();
            await instance.restoreCheckpoint(state);
          } catch (err) {
            throw new RestoreFailed(RayTaskError.wrap(where, err, this.host.pid));
          }
          ckpt.restore(msg.ckpt.covered);
        }
        this.ckpt = ckpt;
      }
      this.instance = instance;
    } catch (err) {
      this.spec = undefined;
      if (err instanceof DependencyFailed) throw decode(err.encoded, this.host.scope);
      if (err instanceof RestoreFailed) throw err.error;
      throw RayTaskError.wrap(`${spec.className}.constructor`, err, this.host.pid);
    }
    this.pump();
    return {};
  }

  /** Accept a method call. */
  onPushActorTask(msg: PushActorTask, conn: Connection): void {
    if (msg.st !== undefined) conn.state.set(OWNER_STORE, msg.st);
    if (this.ckpt && msg.sq !== undefined && msg.s !== undefined) {
      const key = this.ckpt.accept(conn, msg.s, msg.sq);
      if (key === undefined) return; // already covered by the restored checkpoint (or received)
      this.queue.push({ msg, conn, key });
    } else {
      this.queue.push({ msg, conn });
    }
    this.pump();
  }

  /** A caller acknowledged replies (checkpointed actors). */
  onAck(msg: ActorAck, conn: Connection): void {
    this.ckpt?.ack(conn, msg.s, msg.upto);
  }

  private pump(): void {
    if (!this.instance || this.saving) return;
    const max = this.spec!.maxConcurrency;
    const ckpt = this.ckpt;
    for (;;) {
      // A snapshot goes between calls, when none is running. Calls that may overlap (maxConcurrency > 1)
      // keep starting meanwhile: holding them back could deadlock calls that wait for later calls.
      if (this.running === 0 && ckpt?.due()) {
        this.snapshot(ckpt);
        if (this.saving) return;
      }
      if (this.head >= this.queue.length || this.running >= max) break;
      const call = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Call;
      this.running++;
      const p = this.run(call);
      if (p) {
        p.then(() => {
          this.running--;
          this.pump();
        });
      } else {
        this.running--;
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }

  /** A sequenced call finished (once, even when its reply failed to encode and is sent as an error). */
  private settled(call: Call): void {
    if (call.key === undefined) return;
    this.ckpt?.done(call.key, call.msg.sq!);
    call.key = undefined;
  }

  /** Take a snapshot now (no call is running): saveCheckpoint(), then commit it. */
  private snapshot(ckpt: Checkpointer): void {
    const covered = ckpt.coverage();
    let state: unknown;
    try {
      state = (this.instance as unknown as Checkpointable).saveCheckpoint();
    } catch (err) {
      ckpt.failed(err);
      return;
    }
    if (!(state instanceof Promise)) {
      ckpt.prepare(state, covered);
      return;
    }
    this.saving = true;
    state.then(
      (v) => {
        this.saving = false;
        ckpt.prepare(v, covered);
        this.pump();
      },
      (err) => {
        this.saving = false;
        ckpt.failed(err);
        this.pump();
      },
    );
  }

  /** Run one call; returns a promise only when it did not complete synchronously. */
  private run(call: Call): Promise<void> | undefined {
    const { msg } = call;
    const t0 = this.host.clock.now();
    if (msg.actor !== this.spec!.actorId) {
      this.fail(
        call,
        new Error(`actor ${msg.actor} is not hosted by this worker (it hosts ${this.spec!.actorId})`),
        t0,
        false,
      );
      return undefined;
    }
    const method = this.instance![msg.method];
    if (typeof method !== "function") {
      this.fail(call, new TypeError(`actor ${this.spec!.className} has no method "${msg.method}"`), t0, true);
      return undefined;
    }
    if (msg.dep?.some((d) => d[3] === null)) {
      return this.resolveArgs(msg.args, msg.dep).then(
        (args) => this.invoke(call, method as Function, args, t0),
        (err) => this.fail(call, err, t0, true),
      );
    }
    let args: unknown[];
    try {
      args = this.decodeInline(msg.args, msg.dep);
    } catch (err) {
      this.fail(call, err, t0, true);
      return undefined;
    }
    // An argument holds an instance of a class whose module is not imported here yet.
    const classes = classesSettled();
    if (classes) {
      return classes.then(
        () => this.invoke(call, method as Function, args, t0),
        (err) => this.fail(call, err, t0, true),
      );
    }
    return this.invoke(call, method as Function, args, t0);
  }

  private invoke(call: Call, method: Function, args: unknown[], t0: number): Promise<void> | undefined {
    let result: unknown;
    call.mark = importMark();
    try {
      this.current.taskId = `${call.conn.peerId || "caller"}:${call.msg.id}`;
      result = method.apply(this.instance, args);
    } catch (err) {
      this.fail(call, err, t0, true);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (v) => this.finish(call, v, t0),
        (err) => this.fail(call, err, t0, true),
      );
    }
    return this.finish(call, result, t0);
  }

  private decodeInline(args: Uint8Array, dep: PushActorTask["dep"]): unknown[] {
    const out = decode(args, this.host.scope) as unknown[];
    if (dep) for (const [i, , , v] of dep) if (v !== null) out[i] = decode(v, this.host.scope);
    return out;
  }

  private async resolveArgs(args: Uint8Array, dep: PushActorTask["dep"]): Promise<unknown[]> {
    const out = this.decodeInline(args, dep);
    for (const [i, id, owner, v, at] of dep ?? []) {
      if (v !== null) continue;
      // Read in place (large arrays stay views into the store), as task arguments are.
      try {
        out[i] = await this.host.fetchValue(id, owner, at);
      } catch (err) {
        throw new DependencyFailed(encodeError(err));
      }
    }
    await classesSettled();
    return out;
  }

  /** Send the result; waits first for modules the call imported, whose classes its value may hold. */
  private finish(call: Call, value: unknown, t0: number): Promise<void> | undefined {
    const imports = settledSince(call.mark ?? 0);
    if (imports) return imports.then(() => this.sendResult(call, value, t0));
    this.sendResult(call, value, t0);
    return undefined;
  }

  private sendResult(call: Call, value: unknown, t0: number): void {
    this.settled(call);
    try {
      sendDone(
        this.host,
        call.conn,
        call.msg.id,
        value,
        call.msg.nr,
        `${this.spec!.className}.${call.msg.method}`,
        t0,
        call.msg.ret,
      );
    } catch (err) {
      this.fail(call, err, t0, true);
    }
  }

  private fail(call: Call, err: unknown, t0: number, app: boolean): void {
    this.settled(call);
    const us = Math.round((this.host.clock.now() - t0) * 1000);
    if (err instanceof DependencyFailed) {
      call.conn.send({ t: Msg.TaskFailed, id: call.msg.id, e: err.encoded, us, app: false });
      return;
    }
    const name = `${this.spec?.className ?? "actor"}.${call.msg.method}`;
    let e: Uint8Array;
    try {
      e = encodeError(RayTaskError.wrap(name, err, this.host.pid));
    } catch {
      const plain = new Error(err instanceof Error ? err.message : String(err));
      e = encodeError(RayTaskError.wrap(name, plain, this.host.pid));
    }
    const failed = { t: Msg.TaskFailed, id: call.msg.id, e, us, app } as const;
    this.host.whenRegistered(() => call.conn.send(failed));
    this.host.afterTask();
  }
}

function isCheckpointable(v: object): v is Checkpointable {
  const c = v as Partial<Checkpointable>;
  return typeof c.saveCheckpoint === "function" && typeof c.restoreCheckpoint === "function";
}
