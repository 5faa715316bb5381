import { loadedTarget, loadTarget } from "../code-loading/index.js";
import { RayTaskError } from "../errors/index.js";
import { type FunctionDescriptor, Msg, type PushTask } from "../protocol/index.js";
import { decode, decodeError, encode, encodeError } from "../serialization/index.js";
import type { Connection } from "../transport/index.js";
import { current } from "./context.js";

/** What the executor needs from its process's core worker. */
export interface ExecutorHost {
  /** Fetch a borrowed object's encoded value; rejects with its error if the value is an error. */
  fetch(id: string, owner: string): Promise<{ data: Uint8Array; failed: boolean }>;
  /** Refs found inside a return value escaped to the caller. */
  markEscaped(refs: unknown[]): void;
}

interface Job {
  msg: PushTask;
  conn: Connection;
  desc: FunctionDescriptor;
}

class ArgumentError {
  constructor(readonly encoded: Uint8Array) {}
}

/**
 * Worker side of normal tasks: runs pushed tasks one at a time in arrival order
 * and replies to the owner on the connection the task came in on. Synchronous
 * tasks in a batch run back to back without yielding, so their replies batch too.
 */
export class TaskExecutor {
  private readonly queue: Job[] = [];
  private head = 0;
  private running = false;

  constructor(private readonly host: ExecutorHost) {}

  /** Accept a task pushed by an owner. */
  onPushTask(msg: PushTask, conn: Connection): void {
    let fns = conn.state.get("fnTable") as Map<number, FunctionDescriptor> | undefined;
    if (!fns) conn.state.set("fnTable", (fns = new Map()));
    if (msg.fd) fns.set(msg.fn, msg.fd);
    const desc = fns.get(msg.fn);
    if (!desc) {
      const err = new Error(`protocol error: unknown function number ${msg.fn}`);
      conn.send({ t: Msg.TaskFailed, id: msg.id, e: encodeError(err), us: 0, app: false });
      return;
    }
    this.queue.push({ msg, conn, desc });
    if (!this.running) this.drain();
  }

  private drain(): void {
    while (this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Job;
      const pending = this.runOne(job);
      if (pending) {
        this.running = true;
        pending.then(() => {
          this.running = false;
          this.drain();
        });
        return;
      }
    }
    this.queue.length = 0;
    this.head = 0;
  }

  /** Runs a task; returns a promise only if it could not complete synchronously. */
  private runOne(job: Job): Promise<void> | undefined {
    const t0 = performance.now();
    const fn = loadedTarget(job.desc);
    if (!fn || job.msg.dep?.some((d) => d[3] === null)) return this.runAsync(job, t0, fn);
    let result: unknown;
    try {
      const args = this.decodeArgs(job.msg);
      current.taskId = `${job.conn.peerId || "owner"}:${job.msg.id}`;
      current.gpuIds = job.msg.gpu ?? [];
      result = fn(...args);
    } catch (err) {
      this.fail(job, err, t0);
      return undefined;
    }
    if (result instanceof Promise) {
      return result.then(
        (v) => this.finish(job, v, t0),
        (err) => this.fail(job, err, t0),
      );
    }
    this.finish(job, result, t0);
    return undefined;
  }

  private async runAsync(job: Job, t0: number, fn: Function | undefined): Promise<void> {
    try {
      fn ??= await loadTarget(job.desc);
      const args = this.decodeArgs(job.msg);
      for (const d of job.msg.dep ?? []) {
        if (d[3] !== null) continue;
        const got = await this.host.fetch(d[1], d[2]);
        if (got.failed) throw new ArgumentError(got.data);
        args[d[0]] = decode(got.data);
      }
      current.taskId = `${job.conn.peerId || "owner"}:${job.msg.id}`;
      current.gpuIds = job.msg.gpu ?? [];
      const v = await fn(...args);
      this.finish(job, v, t0);
    } catch (err) {
      this.fail(job, err, t0);
    }
  }

  private decodeArgs(msg: PushTask): unknown[] {
    const args = decode(msg.args) as unknown[];
    if (msg.dep) {
      for (const [i, , , v] of msg.dep) {
        if (v === null) continue;
        args[i] = decode(v);
      }
    }
    return args;
  }

  private finish(job: Job, value: unknown, t0: number): void {
    const { msg } = job;
    let r: Uint8Array[];
    try {
      const refs: unknown[] = [];
      if (msg.nr === 1) {
        r = [encode(value, refs)];
      } else {
        if (!Array.isArray(value) || value.length !== msg.nr) {
          throw new TypeError(
            `${job.desc.name} was declared with numReturns: ${msg.nr} but returned ` +
              `${Array.isArray(value) ? `an array of ${value.length}` : typeof value}; return an array of exactly ${msg.nr} values`,
          );
        }
        r = value.map((v) => encode(v, refs));
      }
      if (refs.length > 0) this.host.markEscaped(refs);
    } catch (err) {
      this.fail(job, err, t0);
      return;
    }
    current.taskId = undefined;
    job.conn.send({ t: Msg.TaskDone, id: msg.id, r, us: Math.round((performance.now() - t0) * 1000) });
  }

  private fail(job: Job, err: unknown, t0: number): void {
    current.taskId = undefined;
    const us = Math.round((performance.now() - t0) * 1000);
    if (err instanceof ArgumentError) {
      // A dependency failed: propagate its error unchanged (not an application error of this task).
      job.conn.send({ t: Msg.TaskFailed, id: job.msg.id, e: err.encoded, us, app: false });
      return;
    }
    const wrapped = RayTaskError.wrap(job.desc.name, err, process.pid);
    let e: Uint8Array;
    try {
      e = encodeError(wrapped);
    } catch {
      // The user's error holds something unserializable: keep its message and stack only.
      const plain = new Error(err instanceof Error ? err.message : String(err));
      plain.stack = err instanceof Error ? err.stack : plain.stack;
      e = encodeError(RayTaskError.wrap(job.desc.name, plain, process.pid));
    }
    void decodeError;
    job.conn.send({ t: Msg.TaskFailed, id: job.msg.id, e, us, app: true });
  }
}
