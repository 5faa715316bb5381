/**
 * The wire catalogue: every message any tsray process sends, with its failure
 * semantics. This file is the single source of truth; nothing else defines wire
 * shapes. A frame carries a batch (array) of messages, see src/transport.
 *
 * Conventions
 * - `t` is the message kind (a small integer from `Msg`).
 * - Requests carry `rid` (> 0, unique per connection and direction) and get exactly one
 *   `Reply` with the same `rid`, unless the connection closes first; then the caller
 *   fails the request with the connection's error (never a hang).
 * - Notifications have no `rid` and get no reply.
 * - Every message says what happens when it is lost: nothing is lost on a live
 *   connection (ordered, reliable stream), so "lost" means the connection closed
 *   first. Nothing is re-sent on a new connection unless its doc says so.
 * - Some messages are only sent in-process today (the head hosts the control store
 *   and the node manager, and no node manager runs apart from it); their docs say
 *   so, and give the semantics a remote sender would have to keep.
 * - Payload bytes (`Uint8Array`) are values already encoded by src/serialization;
 *   the transport never looks inside them.
 */

import type { ResourceMap } from "../scheduling/index.js";

/** Message kinds. Numbers are part of the wire format: append, never renumber. */
export const Msg = {
  Reply: 0,
  Hello: 1,
  // handshake (acceptor -> dialer), see docs/design/security.md
  Challenge: 2,
  Welcome: 3,
  Refused: 4,
  // owner <-> leased worker
  PushTask: 10,
  TaskDone: 11,
  TaskFailed: 12,
  ReturnTasks: 13,
  CancelTask: 14,
  // any process <-> object owner
  GetObject: 20,
  // worker <-> node manager
  RegisterWorker: 30,
  WorkerBlocked: 31,
  WorkerUnblocked: 32,
  // owner (driver or worker) <-> node manager
  RegisterDriver: 40,
  RequestLease: 41,
  CancelLeaseRequest: 42,
  ReturnLease: 43,
  GetNodeResources: 44,
  ShutdownNode: 45,
  // anyone <-> control store
  RegisterNode: 60,
  NodeHeartbeat: 61,
  GetNodes: 62,
  RegisterJob: 63,
  KvPut: 64,
  KvGet: 65,
  KvDelete: 66,
  GetClusterResources: 67,
  // actors
  RegisterActor: 70,
  GetActorInfo: 71,
  GetNamedActor: 72,
  KillActor: 73,
  ListActors: 74,
  CreateActor: 75,
  PushActorTask: 76,
  WorkerExited: 77,
  ActorOwnerGone: 78,
  // reference counting (any process <-> owner)
  AddBorrower: 80,
  RemoveBorrower: 81,
  Unpin: 82,
  GetMemoryInfo: 83,
  // shared-memory object store (any process <-> its node manager)
  StoreCreate: 90,
  StoreSeal: 91,
  StoreGet: 92,
  StoreRelease: 93,
  StoreFree: 94,
  StorePressure: 95,
  GetStoreStats: 96,
  // fault tolerance (see docs/design/fault-tolerance.md)
  WorkerPing: 100,
  ActorAck: 101,
  ActorCovered: 102,
  SaveActorCheckpoint: 103,
} as const;
export type MsgKind = (typeof Msg)[keyof typeof Msg];

/**
 * Version of this wire catalogue, carried by `Challenge` and `Hello`. Peers of
 * different versions refuse each other at the handshake, naming both versions,
 * instead of misreading each other's messages. Bump it on any incompatible change
 * (a new kind that old peers must understand, a changed shape). Peers that predate
 * versioning (no `v` in Hello) count as version 1.
 */
export const PROTOCOL_VERSION = 2;

/** Name of each message kind, by number (for error messages and logs). */
export const MSG_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Msg).map(([name, kind]) => [kind, name] as [number, string]),
);

/** An error carried in a Reply: an encoded error value (src/serialization). */
export type EncodedError = Uint8Array;

/**
 * A value on the wire: encoded bytes, or (hot-path shortcut) a primitive that the
 * envelope carries as itself: a number other than -0, a string, a boolean, null.
 */
export type WireValue = Uint8Array | number | string | boolean | null;

/**
 * A top-level ref argument of a task, actor call or actor constructor: its index in
 * the argument list, object id, owner address, and the encoded value when the owner
 * had it inline (null: the worker reads it before running). `at` = [size, store name]
 * when the value sits sealed in the owner's node store: a worker on that node reads it
 * there at once, without asking the owner (the owner lends the object for the call).
 */
export type DepTuple = [
  index: number,
  id: string,
  owner: string,
  value: Uint8Array | null,
  at?: [number, string],
];

/**
 * Reply to a request. `err` set means the request failed with that (encoded)
 * error; otherwise `body` is the request's result.
 * Failure: lost only with its connection, which fails the pending request.
 */
export interface Reply {
  t: typeof Msg.Reply;
  rid: number;
  err?: EncodedError;
  body?: unknown;
}

/**
 * Acceptor -> dialer, the first frame on every accepted connection: the acceptor's
 * protocol version and a fresh random nonce the dialer must prove the session
 * secret over. Failure: a dialer that gets no Challenge within the handshake
 * timeout fails its connect (the peer is not a tsray node of this version).
 */
export interface Challenge {
  t: typeof Msg.Challenge;
  /** The acceptor's PROTOCOL_VERSION. */
  v: number;
  /** 32 random bytes, new per connection. */
  nonce: Uint8Array;
}

/**
 * Dialer -> acceptor, the answer to Challenge: who it is, where it listens (so the
 * acceptor can reuse this connection to reach it), and proof that it holds the
 * session secret: `proof = HMAC-SHA256(secret, "tsray-hello\0" | acceptor nonce |
 * dialer nonce | from)`. The secret itself never travels.
 * Failure: a wrong proof, a version mismatch or any other first message makes the
 * acceptor answer `Refused` and close; nothing else the peer sent is processed.
 * Sent once per connection; a dialer whose connection closed dials again.
 */
export interface Hello {
  t: typeof Msg.Hello;
  /** Worker id of the connecting process (drivers have one too). */
  from: string;
  /** The address the connecting process listens on ("" if none). */
  address: string;
  /** The dialer's PROTOCOL_VERSION (absent: a peer older than versioning, version 1). */
  v?: number;
  /** 32 random bytes of the dialer, new per connection (the acceptor's Welcome proves over it). */
  nonce?: Uint8Array;
  /** HMAC-SHA256 proof of the session secret (see above). */
  proof?: Uint8Array;
}

/**
 * Acceptor -> dialer after a valid Hello: the acceptor's own proof of the secret,
 * `HMAC-SHA256(secret, "tsray-welcome\0" | dialer nonce | acceptor nonce)`, so
 * the dialer knows it reached the real node (mutual authentication). Only after it
 * does either side send or process other messages.
 * Failure: a dialer that gets a wrong proof closes and fails its connect with
 * AuthenticationError.
 */
export interface Welcome {
  t: typeof Msg.Welcome;
  proof: Uint8Array;
}

/**
 * Acceptor -> dialer instead of Welcome: the handshake failed; the acceptor closes
 * right after. `code` is the error code the dialer's connect rejects with
 * (AUTHENTICATION_FAILED, PROTOCOL_VERSION_MISMATCH, PROTOCOL_ERROR), `message`
 * says why (never anything secret).
 */
export interface Refused {
  t: typeof Msg.Refused;
  code: string;
  message: string;
}

/** Identifies a remote function in a worker: a module URL plus a stable per-module key, or source text. */
export interface FunctionDescriptor {
  /** file:// URL of the defining module. */
  module: string;
  /** Stable per-module key: "#<n>" for the n-th remote() call in that module. */
  key: string;
  /** Name for messages (function or class name, else `<file>#<n>`). */
  name: string;
  /** The target's own `.name`, checked when a worker finds it ("" if anonymous). */
  fn: string;
  /** Source text, for definitions in the driver's entry module (shipped by value). */
  source?: string;
}

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
 * them and will never run them (so re-queuing cannot run a task twice).
 * Notification; lost only with the connection (then the owner retries anyway).
 */
export interface ReturnTasks {
  t: typeof Msg.ReturnTasks;
  ids: number[];
}

/**
 * Owner -> worker: cancel task `id`. If it has not started, the worker drops it and
 * replies TaskFailed (TaskCancelledError); a running task runs on (JavaScript cannot
 * be interrupted) and the owner discards its result. Notification; idempotent (an
 * unknown or finished id is ignored). If lost with the connection, the owner fails
 * the task with TaskCancelledError instead of retrying it.
 */
export interface CancelTask {
  t: typeof Msg.CancelTask;
  id: number;
}

/**
 * Any process -> owner of an object: send its value once it is ready (the reply
 * waits while the object is pending). Reply body: `GetObjectReply`; error
 * OwnerDiedError when the owner no longer has the object (freed).
 * Read-only, idempotent; safe to resend, but not re-sent automatically: owner
 * unreachable, or the connection closing before the reply -> OwnerDiedError at the
 * caller.
 */
export interface GetObject {
  t: typeof Msg.GetObject;
  rid: number;
  id: string;
}
export interface GetObjectReply {
  /** Encoded value (empty when `s` is set). */
  d: Uint8Array;
  e: boolean;
  /** Set when the value lives in the node's shared-memory store: its size in bytes. */
  s?: number;
}

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
export interface RegisterWorkerReply {
  nodeId: string;
  jobId: string;
  store: StoreInfo;
}

/** The node's shared-memory object store, as processes map it. */
export interface StoreInfo {
  /** Segment name of the arena (e.g. /tsray-1234-1). */
  name: string;
  /** Arena capacity in bytes. */
  size: number;
  /** "native" (zero-copy) or "js-fallback" (copies). */
  backend: string;
}

/**
 * Worker -> node manager: the running task waits in get/wait, so its CPU may be
 * lent to other work (Ray's deadlock avoidance for nested tasks); Unblocked takes
 * it back. Notifications; idempotent (a repeat of the current state is ignored, as
 * are both from a worker without a lease). Lost only with the connection: the worker
 * then exits and its lease's resources are freed anyway.
 */
export interface WorkerBlocked {
  t: typeof Msg.WorkerBlocked;
}
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
 * Driver -> node manager, once. Reply body: `{ runtimeKey: string, store: StoreInfo }`.
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
  /** For an actor: the worker is dedicated to it for life and never returns to the pool. */
  actor?: string;
}
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
 * is ignored: the owner returns such a lease when idle). Lost only with the
 * connection, which drops the owner's pending requests anyway.
 */
export interface CancelLeaseRequest {
  t: typeof Msg.CancelLeaseRequest;
  /** rid of the RequestLease to cancel. */
  req: number;
}

/**
 * Owner -> node manager: the lease is done. `kill` asks for the worker to be
 * replaced (e.g. it misbehaved); an actor's worker is always killed. Notification;
 * idempotent (unknown lease ids are ignored). Lost only with the connection, which
 * ends the owner's leases and kills their workers anyway.
 */
export interface ReturnLease {
  t: typeof Msg.ReturnLease;
  leaseId: number;
  kill?: boolean;
}

/** -> node manager: its resource view. Reply body: `NodeResourcesView`. Read-only; connection lost -> the caller's request rejects. */
export interface GetNodeResources {
  t: typeof Msg.GetNodeResources;
  rid: number;
}
export interface NodeResourcesView {
  nodeId: string;
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
 * -> head: stop every worker and exit. Reply body `{ pids: [] }`, sent after the
 * workers are gone and before the head exits. Idempotent (a second request waits
 * for the same stop). Not re-sent: `shutdown()` and `tsray stop` wait for the head
 * process to exit and signal it by pid when the reply or the exit does not come
 * within a grace period (connection lost, or head stuck).
 */
export interface ShutdownNode {
  t: typeof Msg.ShutdownNode;
  rid: number;
}

/**
 * Node manager -> control store: join the cluster. Reply body: `{}`. Idempotent per
 * nodeId (a repeat refreshes the entry). In-process on the head today (no separate
 * node manager exists); a remote node manager that loses it must register again.
 */
export interface RegisterNode {
  t: typeof Msg.RegisterNode;
  rid: number;
  node: NodeInfo;
}
export interface NodeInfo {
  nodeId: string;
  address: string;
  hostname: string;
  total: ResourceMap;
  alive: boolean;
  isHead: boolean;
}

/**
 * Node manager -> control store: its available resources, sent whenever they change
 * (a lease granted, returned or blocked). Notification. In-process on the head today
 * (no separate node manager exists). State, not delta: idempotent, and a lost one is
 * made good by the next; until then the control store's view (GetClusterResources'
 * `available`) is stale. Unknown node ids are ignored. Missing heartbeats do not
 * mark a node dead: the arrival time is recorded but nothing acts on it yet.
 */
export interface NodeHeartbeat {
  t: typeof Msg.NodeHeartbeat;
  nodeId: string;
  available: ResourceMap;
}

/** -> control store: the node table. Reply body: `NodeInfo[]`. Read-only; connection lost -> the request rejects. */
export interface GetNodes {
  t: typeof Msg.GetNodes;
  rid: number;
}

/**
 * Driver -> control store: a new job id. Reply body: `{ jobId: string }`. Not
 * idempotent (a retry gets a new id); not re-sent: connection lost -> init() fails.
 */
export interface RegisterJob {
  t: typeof Msg.RegisterJob;
  rid: number;
}

/**
 * KV store of the control store. Replies: KvPut `{ added: boolean }`, KvGet
 * `{ value?: Uint8Array }`, KvDelete `{ deleted: boolean }`. Idempotent in effect
 * (a repeat reports `added`/`deleted` false). Nothing in tsray sends them yet. The
 * store is in the head's memory: it is lost when the head exits.
 */
export interface KvPut {
  t: typeof Msg.KvPut;
  rid: number;
  ns: string;
  key: string;
  value: Uint8Array;
  overwrite: boolean;
}
export interface KvGet {
  t: typeof Msg.KvGet;
  rid: number;
  ns: string;
  key: string;
}
export interface KvDelete {
  t: typeof Msg.KvDelete;
  rid: number;
  ns: string;
  key: string;
}

/**
 * -> control store: summed totals and availability of live nodes. Reply body:
 * `{ total, available }` (availability as of the last NodeHeartbeat). Read-only.
 */
export interface GetClusterResources {
  t: typeof Msg.GetClusterResources;
  rid: number;
}

/** Lifecycle of an actor, as the control store records it. */
export type ActorState = "PENDING" | "ALIVE" | "RESTARTING" | "DEAD";

/** Everything needed to create (and re-create) an actor; sent once by its creator. */
export interface ActorSpec {
  actorId: string;
  desc: FunctionDescriptor;
  /** Encoded constructor argument array (top-level refs already replaced by values). */
  args: Uint8Array;
  /** Top-level ref arguments the owner could not inline: [index, id, owner, null]. */
  dep?: DepTuple[];
  demand: ResourceMap;
  runtimeKey: string;
  name?: string;
  namespace: string;
  detached: boolean;
  getIfExists: boolean;
  maxRestarts: number;
  maxTaskRetries: number;
  maxConcurrency: number;
  className: string;
  methods: string[];
  /** Address of the creating process (the owner of a non-detached actor). */
  owner: string;
  /**
   * Checkpoint cadence (the class defines saveCheckpoint/restoreCheckpoint): calls to
   * such an actor are sequenced per caller and replayed after a restart.
   */
  checkpointEvery?: { calls?: number; ms?: number };
}

/** An actor as the control store reports it. */
export interface ActorInfo {
  actorId: string;
  state: ActorState;
  /** Where the actor's worker listens ("" unless ALIVE). */
  address: string;
  pid: number;
  className: string;
  methods: string[];
  name?: string;
  namespace: string;
  detached: boolean;
  restarts: number;
  maxTaskRetries: number;
  /** Address of the owner that counts its handles ("" for detached actors). */
  owner: string;
  /** Why it died (DEAD only), e.g. "killed by ray.kill()". */
  deathCause?: string;
  /** The error calls fail with (DEAD only): an encoded ActorDiedError. */
  deathError?: Uint8Array;
  /** Why its process last died and it was restarted (set after the first restart). */
  restartCause?: string;
  /** True when the actor checkpoints (callers then sequence their calls and keep them until covered). */
  checkpointed?: boolean;
  /** Checkpoints the control store has accepted for it so far. */
  checkpoints?: number;
  /** Calls (of all callers) the latest checkpoint covers. */
  checkpointCovers?: number;
}

/**
 * Creator -> control store: register and create an actor. Reply body `{ actorId }`:
 * the id callers use (with getIfExists, the existing actor's id). Creation itself
 * continues asynchronously. Errors: name already taken (without getIfExists).
 * Not idempotent: a retry after a lost reply may find the name taken; not re-sent.
 * Failure: connection lost before the reply -> every call on the new handle fails
 * with the connection's error. The connection it came on is the owner's: when it
 * closes, the control store ends the non-detached actors registered over it.
 */
export interface RegisterActor {
  t: typeof Msg.RegisterActor;
  rid: number;
  spec: ActorSpec;
}

/**
 * -> control store: the actor's state once it is ALIVE at an address other than
 * `after`, or DEAD. Reply body: `ActorInfo`. Waits up to 60 s for an actor id not
 * registered yet (its creator may still be resolving arguments), then errors.
 * Read-only; safe to resend. Connection lost -> callers fail the actor's calls with
 * ActorDiedError ("unreachable").
 */
export interface GetActorInfo {
  t: typeof Msg.GetActorInfo;
  rid: number;
  actorId: string;
  after?: string;
}

/** -> control store: look up a named actor. Reply body `ActorInfo`; error if there is none. Read-only; connection lost -> getActor() rejects. */
export interface GetNamedActor {
  t: typeof Msg.GetNamedActor;
  rid: number;
  name: string;
  namespace: string;
}

/**
 * -> control store: kill an actor now. With noRestart=false a restartable actor
 * restarts. Reply body `KillActorReply` once the actor is marked DEAD (or
 * RESTARTING) and its worker's kill is ordered (ReturnLease with `kill`); the
 * process exits moments later. The killer fails its own pending and later calls at
 * once from the reply's `deathError` (its connection to the actor may outlive the
 * reply); other callers' calls fail when their connections close. Idempotent (a
 * dead or unknown actor is left alone; a dead one's error is returned again).
 * Connection lost -> kill() rejects; the kill may or may not have happened
 * (re-sending is safe).
 */
export interface KillActor {
  t: typeof Msg.KillActor;
  rid: number;
  actorId: string;
  noRestart: boolean;
  /** Why (for the death cause); default "killed by ray.kill()". */
  cause?: string;
}
/** Reply to KillActor: the actor's death error when it is DEAD now (absent when it restarts or is unknown). */
export interface KillActorReply {
  deathError?: Uint8Array;
}

/** -> control store: every actor it knows. Reply body `ActorInfo[]`. Read-only; connection lost -> listActors() rejects. */
export interface ListActors {
  t: typeof Msg.ListActors;
  rid: number;
}

/**
 * Control store -> the worker leased for an actor: become this actor (load the
 * class, resolve arguments, run the constructor, restore `ckpt`). Reply `{}` once
 * constructed, or the constructor's error (a RayTaskError): the actor is then DEAD
 * with that cause and its worker is killed; constructor errors are never retried.
 * Sent once per worker process (a second one is refused); not re-sent.
 * Failure: the connection lost mid-constructor (it is the worker's node-manager
 * connection, and a worker exits when that closes): the control store kills the
 * worker if it still runs and waits for its exit report (WorkerExited), which
 * restarts the actor on a fresh worker with `inc` + 1 (running the constructor
 * again, in a new process) while maxRestarts allows, else marks it DEAD with the
 * exit as the cause. A reply from a superseded incarnation (the actor was killed or
 * restarted meanwhile) is ignored.
 */
export interface CreateActor {
  t: typeof Msg.CreateActor;
  rid: number;
  spec: ActorSpec;
  gpu: number[];
  /** Incarnation number (1 for the first creation, +1 per restart); SaveActorCheckpoint quotes it. */
  inc?: number;
  /** The latest checkpoint to restore after the constructor (restarts of checkpointed actors only). */
  ckpt?: ActorCheckpoint;
}

/**
 * A committed checkpoint: the encoded result of `saveCheckpoint()` and, per caller
 * stream (`<caller worker id>:<stream number>`), the last call number whose effect
 * the state includes (and whose reply that caller has acknowledged).
 */
export interface ActorCheckpoint {
  state: Uint8Array;
  covered: Array<[stream: string, seq: number]>;
}

/**
 * Caller -> actor worker: run a method. Calls from one connection start in
 * arrival order (one at a time unless the actor's maxConcurrency > 1).
 * Replies: TaskDone / TaskFailed with the same id.
 * Failure: if the connection closes first, the caller asks the control store
 * what happened and fails (or, with maxTaskRetries, re-sends) the call. Calls to a
 * checkpointed actor are always re-sent after a restart, with every answered call
 * not yet covered by a committed checkpoint (replay; duplicate replies are ignored).
 */
export interface PushActorTask {
  t: typeof Msg.PushActorTask;
  id: number;
  actor: string;
  method: string;
  args: Uint8Array;
  dep?: DepTuple[];
  ret: number;
  nr: number;
  /**
   * Checkpointed actors only: the caller's stream number (one per caller process and
   * actor queue) and this call's number in it (1, 2, ...; a re-sent call keeps its
   * number). The actor drops a call whose number it has already received, so a
   * re-send never runs twice in one incarnation.
   */
  s?: number;
  sq?: number;
}

/**
 * Node manager -> control store: a worker process exited (not sent while the node
 * stops). Notification. In-process on the head today (no separate node manager
 * exists). The control store restarts or ends the actor the worker hosted; other
 * workers are ignored. Idempotent: the first report unbinds the worker, a repeat is
 * ignored. It must not be lost: the actor would stay ALIVE at a dead address and
 * callers waiting in GetActorInfo for a new address would wait for ever; a remote
 * node manager would have to re-send it until acknowledged.
 */
export interface WorkerExited {
  t: typeof Msg.WorkerExited;
  workerId: string;
  pid: number;
  code: number | null;
  signal: string | null;
  /** Why the node manager killed it, when it did (e.g. missed heartbeats). */
  reason?: string;
}

/**
 * Any -> control store: the owner at `owner` is gone; end its non-detached actors.
 * Notification; idempotent (dead actors are skipped). Nothing sends it yet: the
 * control store learns of an owner's death from its RegisterActor connection closing.
 */
export interface ActorOwnerGone {
  t: typeof Msg.ActorOwnerGone;
  owner: string;
}

/**
 * Borrower -> owner: the sender now holds refs to these objects (it received them
 * inside a value). Reply body `{ missing: string[] }`: ids the owner no longer has.
 * The borrower sends no RemoveBorrower before every AddBorrower it sent is answered,
 * so registrations can never be overtaken by releases. Idempotent per borrower.
 * Failure: owner unreachable or connection lost -> the borrower proceeds as if
 * registered; its reads then fail with OwnerDiedError. Not re-sent.
 */
export interface AddBorrower {
  t: typeof Msg.AddBorrower;
  rid: number;
  ids: string[];
}

/**
 * Borrower -> owner: the sender holds these objects no more. Notification. If lost
 * with the connection, the owner drops the borrower anyway (it treats a closed
 * connection from a borrower as its death).
 */
export interface RemoveBorrower {
  t: typeof Msg.RemoveBorrower;
  ids: string[];
}

/**
 * Caller -> worker: it registered for the refs nested in a task's return values
 * (TaskDone.n), so the worker may drop the pins it kept for them. Notification;
 * ids not pinned for the sender are ignored (each pinned id drops once, so a
 * duplicate for an id pinned twice would drop both pins; callers send each once).
 * Lost only with the connection: pins for a caller also drop when it closes.
 */
export interface Unpin {
  t: typeof Msg.Unpin;
  ids: string[];
}

/** One object as a process sees it, for `tsray memory`. */
export interface ObjectMemoryInfo {
  id: string;
  owner: string;
  /** Encoded size in bytes (0 when the value is not here). */
  size: number;
  state: "PENDING" | "READY" | "FAILED";
  localRefs: number;
  /** Pending tasks/calls holding it as an argument. */
  lent: number;
  /** Values in transit to other processes (waiting for them to register). */
  pins: number;
  /** Objects held here whose value contains this ref. */
  containedIn: number;
  /** Processes borrowing it (owners only). */
  borrowers: string[];
}

/**
 * -> node manager: every process of the node reports (it fans the request out to its
 * drivers and workers); reply body `ProcessMemoryInfo[]`. -> any core worker: its own
 * report, reply body `ProcessMemoryInfo`. Read-only apart from `collect`; idempotent.
 * Failure: a process that does not answer within 5 s, or whose connection closes, is
 * left out of the node manager's reply; the request itself fails only with the
 * requester's connection to the node manager.
 */
export interface GetMemoryInfo {
  t: typeof Msg.GetMemoryInfo;
  rid: number;
  /** Set by the node manager when it fans a request out to its processes. */
  fanout?: boolean;
  /**
   * Each process runs a full garbage collection (and lets finalizers run) before it
   * reports, so refs and store views that are only garbage are released first. The
   * releases it causes travel as usual (RemoveBorrower, StoreRelease) and may land
   * after the reply.
   */
  collect?: boolean;
}
export interface ProcessMemoryInfo {
  workerId: string;
  address: string;
  pid: number;
  kind: "driver" | "worker" | "actor";
  rss: number;
  /** V8 heap in use (`process.memoryUsage().heapUsed`): live objects plus garbage not yet collected. */
  heapUsed: number;
  /** Full garbage collections the process ran itself (workers, after tasks); 0 in drivers. */
  fullGcs: number;
  /**
   * A worker that finished tasks recently and has not run its idle collection yet
   * (its collector's timer is set); false once it is idle and collected or found
   * nothing worth collecting. Always false in drivers.
   */
  gcPending: boolean;
  objects: ObjectMemoryInfo[];
}

/**
 * Process -> its node manager: reserve `size` bytes for object `id` in the store.
 * Reply body `{ offset }`; the creator then writes the object at that offset of its
 * shared mapping and sends StoreSeal. Makes room by spilling unpinned objects to
 * disk; fails with ObjectStoreFullError (sizes in the message) when that fails too
 * (the creator then collects garbage and retries up to 3 times). If the creator
 * disconnects before sealing, the space is freed. Not idempotent: a second create
 * of the same id is refused.
 */
export interface StoreCreate {
  t: typeof Msg.StoreCreate;
  rid: number;
  id: string;
  size: number;
}

/**
 * Process -> node manager: the object is written and immutable from now on; drops
 * the creator's pin. Notification; idempotent (unknown or sealed ids are ignored).
 * The creator does not wait for it: messages on its connection stay in order, so its
 * own later StoreGet sees the object sealed. Lost only with the connection: the
 * unsealed object is then freed, StoreGet answers null for it, and readers get
 * ObjectLostError (there is no lineage reconstruction). A worker that loses its
 * node-manager connection exits; a driver that loses it has lost the cluster.
 */
export interface StoreSeal {
  t: typeof Msg.StoreSeal;
  id: string;
}

/**
 * Where StoreGet found one object:
 * - `[offset, size]`: in the arena (the normal case; a spilled object is restored first);
 * - `{ spillFile, size, pinned }`: spilled, and the store has no room to restore it:
 *   the reader reads the file itself, into its own memory, then releases the pin,
 *   which keeps the file from being deleted meanwhile (a restore for another reader
 *   may still remove it: on ENOENT the reader asks again). `pinned`: there was
 *   nothing to spill, every object in the arena being pinned (views that are only
 *   garbage may hold them: the reader collects and asks again first, as for a full
 *   create, so it can still get a view in place); false when a spill failed (e.g.
 *   ENOSPC on the spill disk: no retry helps);
 * - `{ lost }`: the store had it but cannot give it back (its spill file is
 *   unreadable); `lost` says why, for the reader's ObjectLostError;
 * - `null`: the store does not have it (never stored, freed, or its writer died).
 */
export type StoreLocation =
  | [offset: number, size: number]
  | { spillFile: string; size: number; pinned: boolean }
  | { lost: string }
  | null;

/**
 * Process -> node manager: where these objects are (restoring spilled ones), and pin
 * them for this connection until StoreRelease (or the connection closes). Reply body
 * `{ locs }`: one {@link StoreLocation} per id; every answer but `null` and `lost`
 * adds a pin (not idempotent). Never fails for want of space: a spilled object that
 * cannot be restored is answered with its spill file. An object still being written
 * is answered once its StoreSeal arrives (the writer's seal travels on another
 * connection and may come after a reader that learned of the object through its
 * owner), or with null if its writer dies first.
 */
export interface StoreGet {
  t: typeof Msg.StoreGet;
  rid: number;
  ids: string[];
}

/**
 * Process -> node manager: this process holds no views of these objects any more;
 * drops one pin per id (the pin its StoreGet took). Notification; unknown ids are
 * ignored, but a duplicate would drop a pin a later StoreGet took, so it is sent once
 * per pin (batched per microtask). Lost only with the connection: every pin of a
 * closed connection is dropped, so nothing leaks.
 */
export interface StoreRelease {
  t: typeof Msg.StoreRelease;
  ids: string[];
}

/**
 * Owner -> node manager: these objects are unreferenced; free them (once unpinned).
 * Notification; idempotent. Lost with the connection (or the node manager gone):
 * the objects stay until the store is closed with its node; a full store spills
 * them like any unpinned object.
 */
export interface StoreFree {
  t: typeof Msg.StoreFree;
  ids: string[];
}

/**
 * Any process (or `tsray memory`) -> node manager: the usage of the node's object
 * store. Reply body `ObjectStoreStats`. Read-only and idempotent; answered from the
 * store's bookkeeping without waiting for store operations in progress (a create or
 * restore still running is counted as far as it got). Failure: lost only with its
 * connection, which fails the request (RuntimeUnavailableError for the caller).
 */
export interface GetStoreStats {
  t: typeof Msg.GetStoreStats;
  rid: number;
}

/** One node's shared-memory object store, as its node manager counts it (Ray's ObjectStoreStats). */
export interface ObjectStoreStats {
  nodeId: string;
  /** "native" (zero-copy) or "js-fallback" (copies). */
  backend: string;
  /** Arena size in bytes (`objectStoreMemory`). */
  capacity: number;
  /**
   * Bytes of the arena allocated: objects in memory and objects being written, with
   * their alignment (an object of a page or more takes one page more than its size).
   * 0 when the store holds nothing.
   */
  usedBytes: number;
  /** Objects in the arena (sealed or being written), not counting spilled ones. */
  numObjects: number;
  /** Sum of the sizes of those objects. */
  objectBytes: number;
  /** Objects in the arena that some process pins (holds views of, or is writing), and their bytes. */
  pinnedObjects: number;
  pinnedBytes: number;
  /** The largest object that fits without spilling. */
  largestFreeBlock: number;
  /** Objects on disk now (spilled, not restored or freed yet), and their bytes. */
  spilledObjects: number;
  spilledBytes: number;
  /** Since the store started: objects and bytes spilled, and restored. */
  spilledObjectsTotal: number;
  spilledBytesTotal: number;
  restoredObjectsTotal: number;
  restoredBytesTotal: number;
}

/**
 * Node manager -> processes holding store views: the store is full; collect garbage
 * so views that are unreachable release their pins. Notification; best effort and
 * idempotent; a lost one only makes the creator's retries more likely to fail.
 */
export interface StorePressure {
  t: typeof Msg.StorePressure;
}

/**
 * Node manager -> worker: heartbeat probe, sent every heartbeatMs while none is
 * outstanding. Reply body: anything (the transport answers it; a worker whose event
 * loop is stuck cannot). Failure: no reply within heartbeatTimeoutMs -> the node
 * manager SIGKILLs the worker and treats it as dead (its exit is reported as usual,
 * with `reason`). Read-only; idempotent.
 */
export interface WorkerPing {
  t: typeof Msg.WorkerPing;
  rid: number;
}

/**
 * Caller -> checkpointed actor: the caller holds the replies of every call of stream
 * `s` numbered <= `upto`. The actor commits a checkpoint only once every call it
 * covers is acknowledged, so a committed checkpoint never covers a call whose reply
 * could still be lost. Notification; cumulative, so a lost one is made good by the next.
 */
export interface ActorAck {
  t: typeof Msg.ActorAck;
  s: number;
  upto: number;
}

/**
 * Checkpointed actor -> caller: a committed checkpoint covers the calls of stream
 * `s` numbered <= `upto`; the caller forgets them (it no longer re-sends them after
 * a restart). Sent only after the control store accepted the checkpoint.
 * Notification; if lost, the caller keeps the calls longer and the restarted actor
 * drops their re-sends as already covered.
 */
export interface ActorCovered {
  t: typeof Msg.ActorCovered;
  s: number;
  upto: number;
}

/**
 * Checkpointed actor worker -> control store: keep this checkpoint as the actor's
 * latest (replacing the previous one); it is restored after a restart (CreateActor.ckpt).
 * Reply `{}`; error if `inc` is not the actor's current incarnation (a message from a
 * process already replaced) or the actor is dead. The actor tells callers the
 * checkpoint covers their calls (ActorCovered) only after this reply. Idempotent.
 * Failure: an error reply or a lost connection drops this checkpoint with a warning
 * (callers keep their calls, so nothing is lost); it is not re-sent, the next due
 * checkpoint is taken as usual.
 */
export interface SaveActorCheckpoint {
  t: typeof Msg.SaveActorCheckpoint;
  rid: number;
  actorId: string;
  inc: number;
  ckpt: ActorCheckpoint;
}

/** Any message on the wire. */
export type Message =
  | Reply
  | Hello
  | Challenge
  | Welcome
  | Refused
  | PushTask
  | TaskDone
  | TaskFailed
  | ReturnTasks
  | CancelTask
  | GetObject
  | RegisterWorker
  | WorkerBlocked
  | WorkerUnblocked
  | RegisterDriver
  | RequestLease
  | CancelLeaseRequest
  | ReturnLease
  | GetNodeResources
  | ShutdownNode
  | RegisterNode
  | NodeHeartbeat
  | GetNodes
  | RegisterJob
  | KvPut
  | KvGet
  | KvDelete
  | GetClusterResources
  | RegisterActor
  | GetActorInfo
  | GetNamedActor
  | KillActor
  | ListActors
  | CreateActor
  | PushActorTask
  | WorkerExited
  | ActorOwnerGone
  | AddBorrower
  | RemoveBorrower
  | Unpin
  | GetMemoryInfo
  | StoreCreate
  | StoreSeal
  | StoreGet
  | StoreRelease
  | StoreFree
  | StorePressure
  | GetStoreStats
  | WorkerPing
  | ActorAck
  | ActorCovered
  | SaveActorCheckpoint;

/** The message type for a kind. */
export type MessageOf<K extends MsgKind> = Extract<Message, { t: K }>;

/** Messages that expect a Reply. */
export type Request = Exclude<Extract<Message, { rid: number }>, Reply>;

/** A request as its sender writes it: the transport assigns `rid`. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, "rid"> : never) : never;
