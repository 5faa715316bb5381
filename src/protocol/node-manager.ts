/**
 * Workers and owners (drivers or workers) <-> their node manager: registration,
 * worker leases, blocking. Served by the node manager, except ShutdownNode, which
 * the head serves itself. The object store's messages are in object-store.ts.
 */
import type { LabelSelector, ResourceMap, SchedulingStrategy } from "../scheduling/index.js";
import type { Msg } from "./kinds.js";
import type { StoreInfo } from "./object-store.js";

/**
 * Worker -> node manager, once at start. Reply body: `RegisterWorkerReply`; error
 * for a worker id the node manager did not start.
 * Failure: a worker that cannot register (error, or connection lost) exits; a worker
 * that has not registered within the start timeout is killed by the node manager
 * (and counts towards failing its runtime after 3 such starts). Not re-sent.
 */
export interface RegisterWorker {
  t: typeof Msg.RegisterWorker;
  rid: number;
  workerId: string;
  pid: number;
  address: string;
}

/** Reply to RegisterWorker: who the worker works for, and the node's store to map. */
export interface RegisterWorkerReply {
  nodeId: string;
  jobId: string;
  store: StoreInfo;
}

/**
 * Worker -> node manager: the running task waits in get/wait, so its CPU may be
 * lent to other work (Ray's deadlock avoidance for nested tasks); WorkerUnblocked
 * takes it back. Notification; idempotent (a repeat of the current state is ignored,
 * as is one from a worker without a lease).
 * Failure: lost only with the connection: the worker then exits and its lease's
 * resources are freed anyway.
 */
export interface WorkerBlocked {
  t: typeof Msg.WorkerBlocked;
}

/**
 * Worker -> node manager: the task that sent WorkerBlocked runs again; take its CPU
 * back from the work it was lent to. Notification; idempotent as WorkerBlocked.
 * Failure: lost only with the connection: the worker then exits and its lease's
 * resources are freed anyway.
 */
export interface WorkerUnblocked {
  t: typeof Msg.WorkerUnblocked;
}

/**
 * Loaders a node can start workers with, so they import user modules the way the
 * driver does: `tsx` (`node --import tsx`), `strip-types` (Node's own type stripping,
 * on by default from Node 22.18/23.6) or `none` (plain JavaScript). A driver names one;
 * the node turns it into flags of its own (an absolute tsx loader from its own
 * installation), so the wire never carries a command, a path to run or an argument.
 */
export const WORKER_LOADERS = ["tsx", "strip-types", "none"] as const;

/** One of WORKER_LOADERS. */
export type WorkerLoader = (typeof WORKER_LOADERS)[number];

/**
 * A driver's choices for its job's workers. Only choices: the node starts workers with
 * its own node binary, its own entry point and its own flags (TSRAY_WORKER_EXTRA_ARGV
 * on the node), plus the flags of `loader`. Validated strictly by the node manager:
 * any other field (e.g. `execPath`, `execArgv` of older drivers) is refused.
 */
export interface RuntimeEnv {
  /** How workers load TypeScript (see WORKER_LOADERS). */
  loader: WorkerLoader;
  /**
   * Working directory of the workers (user code may rely on process.cwd()): an
   * absolute, normalized path of an existing directory. It cannot pick the binary, the
   * worker entry or the tsx loader (absolute paths); see docs/design/node-manager.md.
   */
  cwd: string;
  /** The job the workers serve (getRuntimeContext().jobId in workers). */
  jobId: string;
  /** The driver's namespace (the default namespace of named actors in workers). */
  namespace: string;
}

/**
 * Driver -> node manager, once. Reply body: `RegisterDriverReply`.
 * The node manager prestarts workers for this runtime. Idempotent (a known runtime
 * starts no more workers).
 * Bad input (a field not listed here or in RuntimeEnv, an unknown `loader`, a `cwd`
 * that is not an absolute path of a directory): reply error TypeError with code
 * ERR_INVALID_ARG_VALUE naming the field, the value and what is valid; nothing is
 * started. A loader this node cannot run (`strip-types` on a Node without type
 * stripping): RuntimeUnavailableError.
 * Failure: lost with the connection -> init() fails. When the driver's connection
 * closes later, the node manager drops its pending lease requests and kills the
 * workers it leased, and the control store ends its non-detached actors.
 */
export interface RegisterDriver {
  t: typeof Msg.RegisterDriver;
  rid: number;
  jobId: string;
  runtime: RuntimeEnv;
  /**
   * Started its own head (embedded mode). Informational: an embedded head exits when
   * the IPC channel to the driver that forked it closes, not on this connection's close.
   */
  embedded: boolean;
}

/** Reply to RegisterDriver: the key its lease requests name the runtime by, and the node's store. */
export interface RegisterDriverReply {
  runtimeKey: string;
  store: StoreInfo;
}

/**
 * Owner -> node manager: lease a worker for tasks of this demand.
 * Reply body: `LeaseGrant`, or `{ cancelled: true }` after CancelLeaseRequest or
 * when the node stops; reply error InfeasibleResourcesError when no node can ever
 * fit the demand, RuntimeUnavailableError when workers of the runtime keep dying
 * before they start. Waits while the demand is merely busy.
 * Failure: if the owner disconnects, its leases (their workers are killed) and
 * pending requests are dropped; if the node manager goes away, the owner fails the
 * queued tasks of that shape with the connection's error. Not idempotent: a re-sent
 * request leases a second worker.
 */
export interface RequestLease {
  t: typeof Msg.RequestLease;
  rid: number;
  demand: ResourceMap;
  runtimeKey: string;
  /**
   * The runtime behind `runtimeKey`, for a node that may not know it (an actor placed
   * here by the control store): registered on first sight, validated as RegisterDriver's.
   */
  runtime?: RuntimeEnv;
  /** For an actor: the worker is dedicated to it for life and never returns to the pool. */
  actor?: string;
  /**
   * How the node manager picks a node for a task (absent: "DEFAULT"). Validated as the
   * API validates it: bad input is a TypeError reply. Ignored for actors (the head placed them).
   */
  strategy?: SchedulingStrategy;
  /** Nodes the task may run on, by label (absent: any). Validated as `strategy`. */
  labelSelector?: LabelSelector;
  /**
   * Sent here by another node manager's spillback: grant or queue it here, never spill it
   * again (at most one hop); InfeasibleResourcesError when this node can never fit it.
   */
  spilled?: boolean;
}

/**
 * Reply to RequestLease: a grant; `cancelled` after CancelLeaseRequest; or `spillback`:
 * the cluster policy chose another node (this one can never run the demand, is busier
 * than the threshold allows, SPREAD's turn is elsewhere, or the affinity names it):
 * the owner sends this one request to `address` directly, with `spilled` set and its
 * runtime along (Ray's raylet spillback). The next request goes to the local node again.
 */
export type LeaseReply =
  | LeaseGrant
  | { cancelled: true }
  | { spillback: { nodeId: string; address: string } };

/** Reply to RequestLease: the leased worker, which the owner dials itself. */
export interface LeaseGrant {
  leaseId: number;
  workerId: string;
  address: string;
  pid: number;
  gpuIds: number[];
}

/**
 * Owner -> node manager: withdraw a pending RequestLease (its reply then carries
 * `cancelled`). Notification; idempotent (an rid not pending, e.g. already granted,
 * is ignored: the owner returns such a lease when idle).
 * Failure: lost only with the connection, which drops the owner's pending requests
 * anyway.
 */
export interface CancelLeaseRequest {
  t: typeof Msg.CancelLeaseRequest;
  /** rid of the RequestLease to cancel. */
  req: number;
}

/**
 * Owner -> node manager: the lease is done. `kill` asks for the worker to be
 * replaced (e.g. it misbehaved); an actor's worker is always killed. Notification;
 * idempotent (unknown lease ids are ignored).
 * Failure: lost only with the connection, which ends the owner's leases and kills
 * their workers anyway.
 */
export interface ReturnLease {
  t: typeof Msg.ReturnLease;
  leaseId: number;
  kill?: boolean;
}

/**
 * -> node manager: its resource view. Reply body: `NodeResourcesView`. Read-only.
 * Failure: connection lost -> the caller's request rejects.
 */
export interface GetNodeResources {
  t: typeof Msg.GetNodeResources;
  rid: number;
}

/** Reply to GetNodeResources: the node's capacity, what is free, and its workers. */
export interface NodeResourcesView {
  nodeId: string;
  /** The control store's address (the head) for a worker node, whose processes send control-store messages there; "" on the head (this connection serves both). */
  controlStore: string;
  total: ResourceMap;
  available: ResourceMap;
  /** The node's worker processes. */
  workers: WorkerInfo[];
}

/** A worker process as its node manager sees it. */
export interface WorkerInfo {
  workerId: string;
  pid: number;
  state: "starting" | "idle" | "leased" | "dead";
  nodeId: string;
}

/**
 * -> head (served by the head itself, not its node manager): stop every worker and
 * exit. Reply body `ShutdownNodeReply`, sent after the workers are gone and before
 * the head exits. Idempotent (a second request waits for the same stop).
 * Failure: not re-sent: `shutdown()` and `tsray stop` wait for the head process to
 * exit and signal it by pid when the reply or the exit does not come within a grace
 * period (connection lost, or head stuck).
 */
export interface ShutdownNode {
  t: typeof Msg.ShutdownNode;
  rid: number;
}

/** Reply to ShutdownNode: `pids` is always empty (the head answers only once every worker is gone). */
export interface ShutdownNodeReply {
  pids: [];
}

/** Requests the node manager serves, by kind: the message and its reply body. */
export interface NodeManagerRequests {
  [Msg.RegisterWorker]: { req: RegisterWorker; reply: RegisterWorkerReply };
  [Msg.RegisterDriver]: { req: RegisterDriver; reply: RegisterDriverReply };
  [Msg.RequestLease]: { req: RequestLease; reply: LeaseReply };
  [Msg.GetNodeResources]: { req: GetNodeResources; reply: NodeResourcesView };
}

/** Notifications the node manager serves. */
export interface NodeManagerNotifications {
  [Msg.WorkerBlocked]: WorkerBlocked;
  [Msg.WorkerUnblocked]: WorkerUnblocked;
  [Msg.CancelLeaseRequest]: CancelLeaseRequest;
  [Msg.ReturnLease]: ReturnLease;
}

/** Requests the head serves itself. */
export interface HeadRequests {
  [Msg.ShutdownNode]: { req: ShutdownNode; reply: ShutdownNodeReply };
}
