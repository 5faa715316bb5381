/**
 * Fault tolerance (see docs/design/fault-tolerance.md): worker heartbeats (served by
 * every core worker), actor checkpoints (SaveActorCheckpoint, served by the control
 * store) and the acknowledgements of calls to checkpointed actors (ActorAck served by
 * the actor's worker, ActorCovered by its callers).
 */
import type { ActorCheckpoint } from "./actors.js";
import type { Msg } from "./kinds.js";

/**
 * Node manager -> worker: heartbeat probe, sent every heartbeatMs while none is
 * outstanding. Reply body: anything (the transport answers it; a worker whose event
 * loop is stuck cannot); served with an empty reply.
 * Read-only; idempotent.
 * Failure: no reply within heartbeatTimeoutMs -> the node manager SIGKILLs the
 * worker and treats it as dead (its exit is reported as usual, with `reason`).
 */
export interface WorkerPing {
  t: typeof Msg.WorkerPing;
  rid: number;
}

/**
 * Caller -> checkpointed actor: the caller holds the replies of every call of stream
 * `s` numbered <= `upto`. The actor commits a checkpoint only once every call it
 * covers is acknowledged, so a committed checkpoint never covers a call whose reply
 * could still be lost. Notification; cumulative.
 * Failure: a lost one is made good by the next.
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
 * Notification.
 * Failure: if lost, the caller keeps the calls longer and the restarted actor drops
 * their re-sends as already covered.
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

/** Requests every core worker serves for its health checks. */
export interface HealthRequests {
  [Msg.WorkerPing]: { req: WorkerPing; reply: undefined };
}

/** Requests the control store serves for actor checkpoints. */
export interface CheckpointRequests {
  [Msg.SaveActorCheckpoint]: { req: SaveActorCheckpoint; reply: Record<string, never> };
}

/** Notifications a core worker serves for checkpointed actors (as the actor, or as a caller). */
export interface CheckpointNotifications {
  [Msg.ActorAck]: ActorAck;
  [Msg.ActorCovered]: ActorCovered;
}
