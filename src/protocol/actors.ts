/**
 * Actors: their directory in the control store (RegisterActor ... ActorOwnerGone,
 * served by the control store) and the actor's own worker (CreateActor and
 * PushActorTask, served by the core worker that hosts it). Calls' results come back
 * as TaskDone/TaskFailed (owner-worker.ts). See docs/design/control-store.md.
 */
import type { LabelSelector, ResourceMap, SchedulingStrategy } from "../scheduling/index.js";
import type { DepTuple, FunctionDescriptor } from "./common.js";
import type { Msg } from "./kinds.js";
import type { RuntimeEnv } from "./node-manager.js";

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
  /**
   * The creator's runtime (loader, cwd, job, namespace): the node chosen for the actor
   * registers it on first sight (it may not have seen the job before).
   */
  runtime?: RuntimeEnv;
  /** The creator's node id: DEFAULT placement packs the actor there up to the spread threshold. */
  ownerNode?: string;
  /** How the head picks its node (absent: "DEFAULT"); already validated by the API. */
  strategy?: SchedulingStrategy;
  /** Nodes it may be placed on, by label (absent: any); already validated by the API. */
  labelSelector?: LabelSelector;
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
 * Creator -> control store: register and create an actor. Reply body
 * `RegisterActorReply`: the id callers use (with getIfExists, the existing actor's
 * id) and that actor's owner. Creation itself continues asynchronously. Errors:
 * name already taken (without getIfExists).
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

/** Reply to RegisterActor. */
export interface RegisterActorReply {
  /** The id callers use: the new actor's, or with getIfExists the existing one's. */
  actorId: string;
  /**
   * Address of the process that counts the actor's handles: the spec's own `owner` for
   * a new actor; for an existing one found with getIfExists, its owner ("" when it is
   * detached), whom the caller then borrows it from.
   */
  owner: string;
}

/**
 * -> control store: the actor's state once it is ALIVE at an address other than
 * `after`, or DEAD. Reply body: `ActorInfo`. Waits up to 60 s for an actor id not
 * registered yet (its creator may still be resolving arguments), then errors.
 * Read-only; safe to resend.
 * Failure: connection lost -> callers fail the actor's calls with ActorDiedError
 * ("unreachable").
 */
export interface GetActorInfo {
  t: typeof Msg.GetActorInfo;
  rid: number;
  actorId: string;
  after?: string;
}

/**
 * -> control store: look up a named actor. Reply body `ActorInfo`; error if there is
 * none. Read-only.
 * Failure: connection lost -> getActor() rejects.
 */
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
 * Failure: connection lost -> kill() rejects; the kill may or may not have happened
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

/**
 * -> control store: every actor it knows. Reply body `ActorInfo[]`. Read-only.
 * Failure: connection lost -> listActors() rejects.
 */
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
  /** The caller's object store, on the first call over a connection (see PushTask.st). */
  st?: string;
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
 * ignored.
 * Failure: it must not be lost: the actor would stay ALIVE at a dead address and
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
 * Failure: lost with the connection; a sender would have to re-send it (it is
 * idempotent), or the actors live on until their owner's connection closes.
 */
export interface ActorOwnerGone {
  t: typeof Msg.ActorOwnerGone;
  owner: string;
}

/** Requests the control store serves for its actor directory, by kind: the message and its reply body. */
export interface ActorDirectoryRequests {
  [Msg.RegisterActor]: { req: RegisterActor; reply: RegisterActorReply };
  [Msg.GetActorInfo]: { req: GetActorInfo; reply: ActorInfo };
  [Msg.GetNamedActor]: { req: GetNamedActor; reply: ActorInfo };
  [Msg.KillActor]: { req: KillActor; reply: KillActorReply };
  [Msg.ListActors]: { req: ListActors; reply: ActorInfo[] };
}

/** Notifications the control store serves for its actor directory. */
export interface ActorDirectoryNotifications {
  [Msg.WorkerExited]: WorkerExited;
  [Msg.ActorOwnerGone]: ActorOwnerGone;
}

/** Requests a core worker serves as (the worker of) an actor. */
export interface ActorWorkerRequests {
  [Msg.CreateActor]: { req: CreateActor; reply: Record<string, never> };
}

/** Notifications a core worker serves as (the worker of) an actor. */
export interface ActorWorkerNotifications {
  [Msg.PushActorTask]: PushActorTask;
}
