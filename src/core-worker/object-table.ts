/**
 * Object states held by one process: objects it owns (task returns, puts) and
 * copies of borrowed objects it fetched. Values are kept encoded; `get` decodes.
 */

export const PENDING = 0;
export const READY = 1;
/** The value is an encoded error: reading it throws. */
export const FAILED = 2;
export type ObjState = typeof PENDING | typeof READY | typeof FAILED;

/** One object as this process sees it. */
export class ObjEntry {
  state: ObjState = PENDING;
  data: Uint8Array | undefined;
  waiters: Array<(e: ObjEntry) => void> | undefined;
  /** Live ObjectRef instances for this id in this process. */
  localRefs = 0;
  /** Pending tasks that were handed this object as an argument. */
  lent = 0;
  /** Sent to another process inside a value: kept until borrowers are tracked (reference counting). */
  escaped = false;
  /** For borrowed objects: a fetch from the owner in progress. */
  fetching: Promise<ObjEntry> | undefined;

  constructor(
    readonly id: string,
    readonly owned: boolean,
    /** Owner address (for fetching borrowed objects). */
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

  /** No one in this process can reach the object any more. */
  get unreferenced(): boolean {
    return this.localRefs <= 0 && this.lent <= 0 && !this.escaped;
  }
}

/** Copy a view out of a larger buffer so that storing it does not pin the whole frame. */
export function detach(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return bytes.slice();
}
