/**
 * Object states held by one process: objects it owns (task returns, puts) and
 * objects it borrows (refs it received). Values are kept encoded; `get` decodes.
 *
 * Reference counting (see docs/design/core-worker.md): a process *holds* an object
 * while it has live ObjectRef instances (localRefs), pending calls carrying it
 * (lent), values in transit that contain it (pins), or objects whose value
 * contains it (containedIn). The owner frees an object when it holds none and no
 * borrower is left; a borrower tells the owner when it holds none.
 */

export const PENDING = 0;
export const READY = 1;
/** The value is an encoded error: reading it throws. */
export const FAILED = 2;
export type ObjState = typeof PENDING | typeof READY | typeof FAILED;

/** Registration of a borrower with the owner. */
export const UNREGISTERED = 0;
export const REGISTERING = 1;
export const REGISTERED = 2;

/** One object as this process sees it. */
export class ObjEntry {
  state: ObjState = PENDING;
  data: Uint8Array | undefined;
  /** Size in bytes when the value lives in the node's object store (then `data` is unset). */
  stored = 0;
  /** A primitive value kept as itself (no bytes): `hasValue` says `value` is set. */
  value: unknown;
  hasValue = false;
  waiters: Array<(e: ObjEntry) => void> | undefined;
  /** Live ObjectRef instances (or actor handles) for this id in this process. */
  localRefs = 0;
  /** Pending tasks/calls submitted from here that carry it as an argument. */
  lent = 0;
  /** Values sent to other processes that contain it, until they registered. */
  pins = 0;
  /** Objects held here whose value contains this ref. */
  containedIn = 0;
  /** Refs nested in this object's value (each has containedIn raised here). */
  contains: string[] | undefined;
  /** Owner only: processes (addresses) that borrow it. */
  borrowers: Set<string> | undefined;
  /** Borrower only: registration state with the owner. */
  registration = UNREGISTERED;
  /** For borrowed objects: a fetch from the owner in progress. */
  fetching: Promise<ObjEntry> | undefined;
  /** The task producing this object (owner side, first return only): for ray.cancel. */
  task: import("./task-spec.js").TaskSpec | undefined;
  /** Called when an owned entry is freed (e.g. kill an actor whose last handle went away). */
  onFree: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly owned: boolean,
    /** Owner address. */
    readonly owner: string,
  ) {}

  /** Settle the entry and wake waiters. Later settles are ignored (first result wins). */
  settle(state: typeof READY | typeof FAILED, data: Uint8Array): void {
    if (this.state !== PENDING) return;
    this.state = state;
    this.data = data;
    const w = this.waiters;
    this.waiters = undefined;
    if (w) for (const fn of w) fn(this);
  }

  /** Settle with a primitive value kept as itself. */
  settleValue(value: unknown): void {
    if (this.state !== PENDING) return;
    this.value = value;
    this.hasValue = true;
    this.settle(READY, undefined as unknown as Uint8Array);
  }

  /** Call `fn` once the entry is settled (at once if it already is). */
  whenSettled(fn: (e: ObjEntry) => void): void {
    if (this.state !== PENDING) fn(this);
    else (this.waiters ??= []).push(fn);
  }

  /** Remove a waiter added by whenSettled (used by timeouts). */
  removeWaiter(fn: (e: ObjEntry) => void): void {
    if (!this.waiters) return;
    const i = this.waiters.indexOf(fn);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Does anything in this process keep the object? */
  get held(): boolean {
    return this.localRefs > 0 || this.lent > 0 || this.pins > 0 || this.containedIn > 0;
  }
}

/** Copy a view out of a larger buffer so that storing it does not pin the whole frame. */
export function detach(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return bytes.slice();
}
