import { importMark, loadedTarget, loadTarget, settledSince } from "../code-loading/index.js";
import { RayTaskError, TaskCancelledError } from "../errors/index.js";
import { type FunctionDescriptor, Msg, type PushTask, type TaskDone } from "../protocol/index.js";
import {
  classesSettled,
  type DecodeContext,
  decode,
  encodeError,
  type StoreBlob,
  writeBlob,
} from "../serialization/index.js";
import type { Connection } from "../transport/index.js";
import type { Clock, Timer } from "../util/index.js";
import type { TaskContext } from "./context.js";
import { encodeReturns } from "./returns.js";

/** What the executors need from their process's core worker. */
export interface ExecutorHost {
  /** An object's value, read in place from the object store when it lives there; rejects with its error. */
  fetchValue(id: string, owner: string, at?: [number, string]): Promise<unknown>;
  /** Write a large return value into the node's object store under `id`. */
  storeBlob(id: string, blob: StoreBlob): Promise<void>;
  /** Keep refs returned to `peer` alive until it sends Unpin. */
  pinFor(peer: string, keys: Array<[string, string]>): void;
  /** Run `fn` once this process is registered as borrower of every ref it received. */
  whenRegistered(fn: () => void): void;
  /** A task or call finished (workers may collect garbage when idle). */
  afterTask(): void;
  /** The core worker's task context, which the executors keep current. */
  readonly context: TaskContext;
  /** The core worker's scope: refs and handles decoded from arguments bind to it. */
  readonly scope: DecodeContext;
  /** Times tasks (their reported duration), queued-task returns and checkpoint cadence. */
  readonly clock: Clock;
  /** This process's object store name (undefined before registration). */
  storeName(): string | undefined;
  /** Where other nodes pull from this process's store (StoreInfo.node; undefined when they cannot). */
  storeNode(): string | undefined;
  /** The process id that errors of user code name (RayTaskError's "failed in worker pid=N"). */
  readonly pid: number;
}

/** Connection state key: the owner's object store name, from its first push (PushTask.st). */
export const OWNER_STORE = "ownerStore";

/**
 * Send the reply of a finished task/call: pin refs nested in the values for the
 * caller, and wait until this process registered for refs it received (so the
 * caller's release of the arguments cannot overtake our registration).
 */
export function sendDone(
  host: ExecutorHost,
  conn: Connection,
  id: number,
  value: unknown,
  nr: number,
  what: string,
  t0: number,
  ret = -1,
): void {
  const { r, n, blobs } = encodeReturns(value, nr, what);
  const msg: TaskDone = { t: Msg.TaskDone, id, r, us: Math.round((host.clock.now() - t0) * 1000) };
  if (n) {
    msg.n = n;
    host.pinFor(
      conn.peerAddress,
      n.map(([, i, o]) => [i, o]),
    );
  }
  host.afterTask();
  if (!blobs) {
    host.whenRegistered(() => conn.send(msg));
    return;
  }
  const ownerStore = conn.state.get(OWNER_STORE) as string | undefined;
  const remote = ownerStore !== undefined && ownerStore !== host.storeName();
  const node = remote ? host.storeNode() : undefined;
  if (remote && !node) {
    // The caller is on another node that cannot pull from this one: the value travels inline.
    for (const [k, b] of blobs) {
      const bytes = Buffer.allocUnsafeSlow(b.size);
      writeBlob(bytes, b);
      r[k] = bytes;
    }
    host.whenRegistered(() => conn.send(msg));
    return;
  }
  // Large returns go into the object store under the caller's return ids first (a
  // caller on another node then pulls them from here: `sn`).
  msg.s = blobs.map(([k, b]) => [k, b.size]);
  if (node) msg.sn = node;
  Promise.all(blobs.map(([k, b]) => host.storeBlob(`${conn.peerId}/${ret + k}`, b))).then(
    () => host.whenRegistered(() => conn.send(msg)),
    (err: unknown) => {
      const e = encodeError(RayTaskError.wrap(what, err, host.pid));
      host.whenRegistered(() => conn.send({ t: Msg.TaskFailed, id, e, us: msg.us, app: false }));
    },
  );
}

interface Job {
  msg: PushTask;
  conn: Connection;
  desc: FunctionDescriptor;
  /** importMark() when the task started: imports since then may hold its return value's classes. */
  mark?: number;
}

/** How long a running task may hold up the tasks pipelined behind it before they go back. */
const RETURN_AFTER_MS = 10;

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
  /** Armed while a task runs with others queued behind it. */
  private timer: Timer | undefined;

  private readonly current: TaskContext;

  constructor(private readonly host: ExecutorHost) {
    this.current = host.context;
  }

  /** Accept a task pushed by an owner. */
  onPushTask(msg: PushTask, conn: Connection): void {
    if (msg.st !== undefined) conn.state.set(OWNER_STORE, msg.st);
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
    else this.timer ??= this.host.clock.setTimeout(() => this.returnQueued(), RETURN_AFTER_MS);
  }

  private drain(): void {
    while (this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Job;
      const pending = this.runOne(job);
      if (pending) {
        this.running = true;
        const timer =
          this.head < this.queue.length
            ? this.host.clock.setTimeout(() => this.returnQueued(), RETURN_AFTER_MS)
            : undefined;
        pending.then(() => {
          this.host.clock.clearTimer(timer);
          this.running = false;
          this.drain();
        });
        return;
      }
    }
    this.queue.length = 0;
    this.head = 0;
  }

  /** The owner cancelled a task: drop it if it has not started (a running task runs on). */
  onCancel(id: number, conn: Connection): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const job = this.queue[i]!;
      if (job.msg.id !== id || job.conn !== conn) continue;
      this.queue.splice(i, 1);
      const e = encodeError(new TaskCancelledError(`task ${job.msg.nm ?? job.desc.name} was cancelled`));
      conn.send({ t: Msg.TaskFailed, id, e, us: 0, app: false });
      return;
    }
  }

  /**
   * The running task is taking a while: hand the tasks queued behind it back to
   * their owners, who run them on other workers (pipelining must never make a task
   * wait behind a long one, e.g. two tasks that wait for each other).
   */
  private returnQueued(): void {
    this.timer = undefined;
    const byConn = new Map<Connection, number[]>();
    for (let i = this.head; i < this.queue.length; i++) {
      const job = this.queue[i]!;
      let ids = byConn.get(job.conn);
      if (!ids) byConn.set(job.conn, (ids = []));
      ids.push(job.msg.id);
    }
    this.queue.length = 0;
    this.head = 0;
    for (const [conn, ids] of byConn) conn.send({ t: Msg.ReturnTasks, ids });
  }

  /** Runs a task; returns a promise only if it could not complete synchronously. */
  private runOne(job: Job): Promise<void> | undefined {
    const t0 = this.host.clock.now();
    job.mark = importMark();
    const fn = loadedTarget(job.desc);
    if (!fn || job.msg.dep?.some((d) => d[3] === null)) return this.runAsync(job, t0, fn);
    let result: unknown;
    try {
      const args = this.decodeArgs(job.msg);
      // An argument holds an instance of a class whose module is not imported here yet.
      const classes = classesSettled();
      if (classes) return this.runAfter(classes, job, t0, fn, args);
      this.current.taskId = `${job.conn.peerId || "owner"}:${job.msg.id}`;
      this.current.gpuIds = job.msg.gpu ?? [];
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
    return this.finish(job, result, t0);
  }

  private async runAsync(job: Job, t0: number, fn: Function | undefined): Promise<void> {
    try {
      fn ??= await loadTarget(job.desc);
      const args = this.decodeArgs(job.msg);
      for (const d of job.msg.dep ?? []) {
        if (d[3] !== null) continue;
        try {
          args[d[0]] = await this.host.fetchValue(d[1], d[2], d[4]);
        } catch (err) {
          throw new ArgumentError(encodeError(err));
        }
      }
      await classesSettled();
      this.current.taskId = `${job.conn.peerId || "owner"}:${job.msg.id}`;
      this.current.gpuIds = job.msg.gpu ?? [];
      const v = await fn(...args);
      await this.finish(job, v, t0);
    } catch (err) {
      this.fail(job, err, t0);
    }
  }

  private async runAfter(
    classes: Promise<void>,
    job: Job,
    t0: number,
    fn: Function,
    args: unknown[],
  ): Promise<void> {
    try {
      await classes;
      this.current.taskId = `${job.conn.peerId || "owner"}:${job.msg.id}`;
      this.current.gpuIds = job.msg.gpu ?? [];
      const v = await fn(...args);
      await this.finish(job, v, t0);
    } catch (err) {
      this.fail(job, err, t0);
    }
  }

  private decodeArgs(msg: PushTask): unknown[] {
    const args = msg.args instanceof Uint8Array ? (decode(msg.args, this.host.scope) as unknown[]) : msg.args;
    if (msg.dep) {
      for (const [i, , , v] of msg.dep) {
        if (v === null) continue;
        args[i] = decode(v, this.host.scope);
      }
    }
    return args;
  }

  /** Send the result; waits first for modules the task imported, whose classes its value may hold. */
  private finish(job: Job, value: unknown, t0: number): Promise<void> | undefined {
    this.current.taskId = undefined;
    const imports = settledSince(job.mark ?? 0);
    if (imports) return imports.then(() => this.sendResult(job, value, t0));
    this.sendResult(job, value, t0);
    return undefined;
  }

  private sendResult(job: Job, value: unknown, t0: number): void {
    try {
      sendDone(
        this.host,
        job.conn,
        job.msg.id,
        value,
        job.msg.nr,
        job.msg.nm ?? job.desc.name,
        t0,
        job.msg.ret,
      );
    } catch (err) {
      this.fail(job, err, t0);
    }
  }

  private fail(job: Job, err: unknown, t0: number): void {
    this.current.taskId = undefined;
    const us = Math.round((this.host.clock.now() - t0) * 1000);
    if (err instanceof ArgumentError) {
      // A dependency failed: propagate its error unchanged (not an application error of this task).
      job.conn.send({ t: Msg.TaskFailed, id: job.msg.id, e: err.encoded, us, app: false });
      return;
    }
    const wrapped = RayTaskError.wrap(job.msg.nm ?? job.desc.name, err, this.host.pid);
    let e: Uint8Array;
    try {
      e = encodeError(wrapped);
    } catch {
      // The user's error holds something unserializable: keep its message and stack only.
      const plain = new Error(err instanceof Error ? err.message : String(err));
      plain.stack = err instanceof Error ? err.stack : plain.stack;
      e = encodeError(RayTaskError.wrap(job.msg.nm ?? job.desc.name, plain, this.host.pid));
    }
    const failed = { t: Msg.TaskFailed, id: job.msg.id, e, us, app: true } as const;
    this.host.whenRegistered(() => job.conn.send(failed));
    this.host.afterTask();
  }
}
