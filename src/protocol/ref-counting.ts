/**
 * Distributed reference counting (borrowers and pins, any process <-> an object's
 * owner) and the memory reports of `tsray memory`. Served by every core worker;
 * GetMemoryInfo by the node manager too (which fans it out to its processes). See
 * docs/design/refcount.md.
 */
import type { Msg } from "./kinds.js";

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
 * Borrower -> owner: the sender holds these objects no more. Notification.
 * Failure: if lost with the connection, the owner drops the borrower anyway (it
 * treats a closed connection from a borrower as its death).
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
 * Failure: lost only with the connection: pins for a caller also drop when it closes.
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
 * drivers and workers); -> any core worker: its own report. Reply body
 * `ProcessMemoryInfo[]` either way (one element from a core worker: one reply type
 * per kind, whoever serves it). Read-only apart from `collect`; idempotent.
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

/** One process's report for `tsray memory`: its objects, RSS and heap. */
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

/** Requests a core worker serves as an owner of objects, by kind: the message and its reply body. */
export interface RefCountingRequests {
  [Msg.AddBorrower]: { req: AddBorrower; reply: { missing: string[] } };
}

/** Notifications a core worker serves as an owner (RemoveBorrower) or a worker (Unpin). */
export interface RefCountingNotifications {
  [Msg.RemoveBorrower]: RemoveBorrower;
  [Msg.Unpin]: Unpin;
}

/** The memory report request, served by the node manager and by every core worker alike. */
export interface MemoryRequests {
  [Msg.GetMemoryInfo]: { req: GetMemoryInfo; reply: ProcessMemoryInfo[] };
}
