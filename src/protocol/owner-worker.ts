/**
 * Owner <-> leased worker (tasks and their results) and any process <-> the owner
 * of an object (GetObject). Served by every core worker (drivers and workers): a
 * worker runs tasks, an owner takes their results and serves its objects.
 */
import type { DepTuple, EncodedError, FunctionDescriptor, WireValue } from "./common.js";
import type { Msg } from "./kinds.js";

/**
 * Owner -> leased worker: run this task. Tasks on one connection run in arrival
 * order, one at a time. A function number the worker has not seen (`fd` lost) is
 * answered with TaskFailed (protocol error).
 * Failure: if the connection closes before TaskDone/TaskFailed arrives, the owner
 * treats the worker as dead, returns its lease with `kill`, and re-queues the task
 * (attempt + 1) until it has crashed more than maxRetries times, then fails it with
 * WorkerCrashedError; a cancelled task fails with TaskCancelledError instead. A task
 * may therefore run more than once (at-least-once); tasks are not idempotent in
 * general, so side effects may repeat.
 */
export interface PushTask {
  t: typeof Msg.PushTask;
  /** Owner-local task number; replies carry it back. */
  id: number;
  /** Function number, interned per connection; `fd` is sent with the first use. */
  fn: number;
  fd?: FunctionDescriptor;
  /**
   * Encoded argument array, or the arguments themselves when all are wire primitives.
   * Top-level refs listed in `dep` are replaced before the call.
   */
  args: Uint8Array | WireValue[];
  /**
   * Top-level ObjectRef arguments (their slots in `args` are undefined): argument
   * (see DepTuple).
   */
  dep?: DepTuple[];
  /** Sequence number of the first return object (ids are `${owner}/${seq + i}`). */
  ret: number;
  /** Number of return values. */
  nr: number;
  /** Attempt number (0 for the first run). */
  att: number;
  /**
   * The owner's object store, on the first push over a connection: large returns for an
   * owner whose store is another (another node) travel inline instead of into this node's store.
   */
  st?: string;
  /** GPU ids of the lease, so getGpuIds() answers inside the task. */
  gpu?: number[];
  /** Display name when it differs from the descriptor's (`.options({ name })`). */
  nm?: string;
}

/**
 * Worker -> owner (reply to PushTask or PushActorTask): the task finished; `r[i]`
 * is the encoded i-th return value. `us` is the execution time in microseconds (the
 * owner adapts pipelining to it).
 * Failure: lost only with the connection; then a task is retried as in PushTask and
 * an actor call is handled as in PushActorTask (the work may have run: at-least-once).
 * A TaskDone for an id no longer in flight (cancelled, already answered, a replayed
 * call) is ignored, or turned into TaskCancelledError for a cancelled task; so a
 * duplicate is harmless. Refs in `n` stay pinned by the worker until Unpin or until
 * the caller's connection closes.
 */
export interface TaskDone {
  t: typeof Msg.TaskDone;
  id: number;
  /** Return values: encoded, or wire primitives. */
  r: WireValue[];
  us: number;
  /**
   * Refs nested in the return values ([id, owner]). The worker keeps them pinned
   * until the caller has registered as their borrower and sent Unpin.
   */
  n?: Array<[returnIndex: number, id: string, owner: string]>;
  /** Returns written to the node's object store instead of `r` ([return index, size]). */
  s?: Array<[returnIndex: number, size: number]>;
  /**
   * Set when the caller is on another node: the node manager holding the stored
   * returns `s` (the worker's), from which the caller's node pulls them (StorePull)
   * before the returns settle; the caller then frees that copy with the object.
   */
  sn?: string;
}

/**
 * Worker -> owner (reply to PushTask or PushActorTask): the task threw, its
 * arguments could not be resolved, its returns could not be stored, or it was
 * cancelled before it started; `e` is the encoded error (a RayTaskError for user
 * exceptions). `app` is true for an application error (eligible for retryExceptions).
 * On arrival the owner re-queues a task whose `app` error retryExceptions matches
 * (attempt + 1, within maxRetries), else fails its returns with `e`; an actor
 * call fails with `e` (actor calls are never retried on exceptions).
 * Failure: lost only with the connection, and then indistinguishable from a crash:
 * the task is re-run as in PushTask (counted as a crash; WorkerCrashedError once
 * maxRetries is used up), an actor call is handled as in PushActorTask. A TaskFailed
 * for an id no longer in flight is ignored, so a duplicate is harmless.
 */
export interface TaskFailed {
  t: typeof Msg.TaskFailed;
  id: number;
  e: EncodedError;
  us: number;
  app: boolean;
}

/**
 * Worker -> owner: these pipelined tasks were not started because the task ahead
 * of them has been running a while; run them elsewhere. The worker has dropped
 * them and will never run them (so re-queuing cannot run a task twice). Notification.
 * Failure: lost only with the connection; the owner then retries the tasks anyway.
 */
export interface ReturnTasks {
  t: typeof Msg.ReturnTasks;
  ids: number[];
}

/**
 * Owner -> worker: cancel task `id`. If it has not started, the worker drops it and
 * replies TaskFailed (TaskCancelledError); a running task runs on (JavaScript cannot
 * be interrupted) and the owner discards its result. Notification; idempotent (an
 * unknown or finished id is ignored).
 * Failure: if lost with the connection, the owner fails the task with
 * TaskCancelledError instead of retrying it.
 */
export interface CancelTask {
  t: typeof Msg.CancelTask;
  id: number;
}

/**
 * Any process -> owner of an object: send its value once it is ready (the reply
 * waits while the object is pending). Reply body: `GetObjectReply`; error
 * OwnerDiedError when the owner no longer has the object (freed).
 * Read-only, idempotent; safe to resend, but not re-sent automatically.
 * Failure: owner unreachable, or the connection closing before the reply ->
 * OwnerDiedError at the caller.
 */
export interface GetObject {
  t: typeof Msg.GetObject;
  rid: number;
  id: string;
  /** The requester's object store: when the value is stored in another one (another node), it comes inline. */
  store?: string;
}

/** Reply to GetObject: the object's value, or where it lies in the node's store. */
export interface GetObjectReply {
  /** Encoded value (empty when `s` is set). */
  d: Uint8Array;
  e: boolean;
  /** Set when the value lives in a node's shared-memory store: its size in bytes. */
  s?: number;
  /**
   * Set when it lives in the store of another node than the requester's: the node
   * managers holding a copy (the owner's node first, then those that pulled one); the
   * requester's node manager pulls it from one of them (StorePull).
   */
  from?: string[];
}

/**
 * A node manager -> the owner of an object: this node now holds a sealed copy of the
 * object (pulled from another node), so later readers may pull it from there, and the
 * owner frees it there too when it frees the object (StoreFree to that node manager).
 * Notification; idempotent (a node listed twice is kept once; an object the owner no
 * longer has gets a StoreFree back at once).
 * Failure: lost with the connection: the copy is then not offered to other pullers,
 * and the pulling node frees it when it sees the owner's connection close.
 */
export interface AddObjectLocation {
  t: typeof Msg.AddObjectLocation;
  id: string;
  /** The advertised address of the node manager holding the copy. */
  node: string;
}

/** Requests a core worker serves as an object owner, by kind: the message and its reply body. */
export interface OwnerWorkerRequests {
  [Msg.GetObject]: { req: GetObject; reply: GetObjectReply };
}

/** Notifications a core worker serves: tasks (as a worker) and their results (as an owner). */
export interface OwnerWorkerNotifications {
  [Msg.PushTask]: PushTask;
  [Msg.TaskDone]: TaskDone;
  [Msg.TaskFailed]: TaskFailed;
  [Msg.ReturnTasks]: ReturnTasks;
  [Msg.CancelTask]: CancelTask;
  [Msg.AddObjectLocation]: AddObjectLocation;
}
