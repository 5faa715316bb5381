// What the lease scheduler hands back to its shell after each event.
import type { Allocation } from "./node-resources.js";
import type { ResourceMap } from "./resource-map.js";

/** A worker as the lease scheduler sees it (its process lives in the shell's pool). */
export interface WorkerView {
  readonly workerId: string;
  readonly runtimeKey: string;
  /** CUDA_VISIBLE_DEVICES it is started with ("" for none). */
  readonly gpuEnv: string;
  /** "dead" once its exit was reported (it is then out of the scheduler's map). */
  state: "starting" | "idle" | "leased" | "dead";
  /** Has it sent RegisterWorker? (An exit before that may mean a broken runtime.) */
  registered: boolean;
  /** The scheduler's clock value when it last became idle (oldest idle are trimmed first). */
  idleSince: number;
  /** Set when it was leased to an actor: dedicated for life, killed when the lease ends. */
  actorId: string | undefined;
  /** A kill was decided, exit not yet reported: never lease or adopt it. */
  killed: boolean;
  /** Killed because it did not register in time (counts as a start failure). */
  startTimedOut: boolean;
}

/** A request for a worker lease, as the shell hands it in. `R` and `O` are the shell's opaque handles. */
export interface LeaseRequest<R, O> {
  /** Comes back in the grant, cancel or reject decision that answers this request. */
  readonly request: R;
  /** Who asked; {@link LeaseScheduler.ownerGone} drops its requests and leases. */
  readonly owner: O;
  /** The owner's id for the request (what a cancel names); unique per owner while pending. */
  readonly rid: number;
  /** The actor the worker is for (dedicated for life), undefined for tasks. */
  readonly actor: string | undefined;
  /** Resource demand; must be feasible on this node (the shell checks before). */
  readonly demand: ResourceMap;
  /** A runtime known to the scheduler ({@link LeaseScheduler.hasRuntime}). */
  readonly runtimeKey: string;
}

/** A lease was granted: tell the owner which worker, under which lease id. */
export interface GrantDecision<R> {
  readonly request: R;
  readonly leaseId: number;
  readonly workerId: string;
  /** GPU ids of the allocation (what CUDA_VISIBLE_DEVICES of the worker lists). */
  readonly gpuIds: readonly number[];
  readonly allocation: Allocation;
}

/** Start a worker process with this id for this runtime and GPU list. */
export interface StartDecision {
  readonly workerId: string;
  readonly runtimeKey: string;
  readonly gpuEnv: string;
}

/** Kill this worker (SIGKILL); its exit comes back as {@link LeaseScheduler.workerExited}. */
export interface KillDecision {
  readonly workerId: string;
  /** Why, when the kill reports something about the worker (hung, did not register); else undefined. */
  readonly reason: string | undefined;
}

/** Every request of a runtime failed: its workers cannot start. */
export interface RuntimeFailure<R> {
  readonly runtimeKey: string;
  /** Predicate text ("worker processes exit before starting (...)"). */
  readonly reason: string;
  /** The pending requests of that runtime, now dropped: reject each with the reason. */
  readonly rejected: readonly R[];
}

/**
 * What to carry out after an event, in this order: kills, starts, grants, cancels,
 * runtime failures. Arrays are empty when there is nothing to do.
 * `resourcesChanged`: publish the node's availability (a schedule pass ran or a lease ended).
 */
export interface LeaseDecisions<R> {
  readonly kill: KillDecision[];
  readonly start: StartDecision[];
  readonly grant: GrantDecision<R>[];
  /** Requests answered "cancelled" (the owner's cancel, or the node stopping). */
  readonly cancelled: R[];
  readonly failed: RuntimeFailure<R>[];
  resourcesChanged: boolean;
}

/** A fresh, empty decision set. */
export function noDecisions<R>(): LeaseDecisions<R> {
  return { kill: [], start: [], grant: [], cancelled: [], failed: [], resourcesChanged: false };
}
