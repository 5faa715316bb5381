import { EntryExtra } from "./entry-extra.js";
import type { OwnerHome, RefKey } from "./object-ref.js";

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

/** Prefix of actor handle ids (as ref-key.ts's ACTOR_REF_PREFIX, which imports actor code). */
const ACTOR_PREFIX = "actor:";

// Bits of ObjEntry.bits: the state (2 bits), the registration (2 bits), two flags.
const STATE_MASK = 0b11;
const REG_SHIFT = 2;
const REG_MASK = 0b11 << REG_SHIFT;
const OWNED = 1 << 4;
const HAS_VALUE = 1 << 5;

/**
 * One object as this process sees it.
 *
 * Layout (issue 16, point 9: a driver may hold millions): six slots — the key (an own
 * object's sequence number, else its id: see {@link OwnerHome}), the home (owner
 * address, or this process's OwnerHome for a numeric key), one small integer of bits
 * (state, registration, owned, has-value), the payload (the encoded bytes, or a
 * primitive value kept as itself), the local ref count, and `extra` for everything
 * else (store size, lent/pin/contained counts, waiters, nested refs, borrowers, a
 * fetch, the producing task, a free hook). The properties below read and write those
 * slots; a rare field's setter makes `extra` on the first non-default write and drops
 * it when every rare field is back to its default.
 */
export class ObjEntry {
  private bits: number;
  /** The encoded value (`data`), or the primitive value itself (`value`, when HAS_VALUE). */
  private payload: unknown = undefined;
  /** Live ObjectRef instances (or actor handles) for this id in this process. */
  localRefs = 0;
  private extra: EntryExtra<ObjEntry> | undefined = undefined;

  /**
   * @param key an own object's sequence number (then `home` is this process's OwnerHome), else the object id
   * @param owned whether this process owns it
   * @param home the owner: its address, or the OwnerHome for a numeric key
   */
  constructor(
    readonly key: RefKey,
    owned: boolean,
    private readonly home: OwnerHome | string,
  ) {
    this.bits = owned ? OWNED : 0;
  }

  /** The object id (built on each read for a numeric key: keep reads off hot paths). */
  get id(): string {
    const k = this.key;
    return typeof k === "number" ? (this.home as OwnerHome).prefix + k : k;
  }

  /** Owner address. */
  get owner(): string {
    const h = this.home;
    return typeof h === "string" ? h : h.address;
  }

  /** True for the synthetic entry that counts an actor's handles. */
  get isActor(): boolean {
    const k = this.key;
    return typeof k === "string" && k.startsWith(ACTOR_PREFIX);
  }

  /** Whether this process owns the object (it created it). */
  get owned(): boolean {
    return (this.bits & OWNED) !== 0;
  }

  get state(): ObjState {
    return (this.bits & STATE_MASK) as ObjState;
  }
  set state(s: ObjState) {
    this.bits = (this.bits & ~STATE_MASK) | s;
  }

  /** Borrower only: registration state with the owner. */
  get registration(): number {
    return (this.bits & REG_MASK) >> REG_SHIFT;
  }
  set registration(r: number) {
    this.bits = (this.bits & ~REG_MASK) | (r << REG_SHIFT);
  }

  /** The encoded value (an encoded error when FAILED); unset for a primitive kept as itself or a stored value. */
  get data(): Uint8Array | undefined {
    return (this.bits & HAS_VALUE) !== 0 ? undefined : (this.payload as Uint8Array | undefined);
  }
  set data(d: Uint8Array | undefined) {
    this.bits &= ~HAS_VALUE;
    this.payload = d;
  }

  /** True when `value` holds a primitive value kept as itself (no bytes). */
  get hasValue(): boolean {
    return (this.bits & HAS_VALUE) !== 0;
  }

  /** The primitive value kept as itself (see hasValue). */
  get value(): unknown {
    return (this.bits & HAS_VALUE) !== 0 ? this.payload : undefined;
  }

  /** Size in bytes when the value lives in the node's object store (then `data` is unset). */
  get stored(): number {
    return this.extra?.stored ?? 0;
  }
  set stored(n: number) {
    if (this.extra) this.extra.stored = n;
    else if (n !== 0) this.more().stored = n;
    else return;
    if (n === 0) this.trim();
  }

  /** Pending tasks/calls submitted from here that carry it as an argument. */
  get lent(): number {
    return this.extra?.lent ?? 0;
  }
  set lent(n: number) {
    if (this.extra) this.extra.lent = n;
    else if (n !== 0) this.more().lent = n;
    else return;
    if (n === 0) this.trim();
  }

  /** Values sent to other processes that contain it, until they registered. */
  get pins(): number {
    return this.extra?.pins ?? 0;
  }
  set pins(n: number) {
    if (this.extra) this.extra.pins = n;
    else if (n !== 0) this.more().pins = n;
    else return;
    if (n === 0) this.trim();
  }

  /** Objects held here whose value contains this ref. */
  get containedIn(): number {
    return this.extra?.containedIn ?? 0;
  }
  set containedIn(n: number) {
    if (this.extra) this.extra.containedIn = n;
    else if (n !== 0) this.more().containedIn = n;
    else return;
    if (n === 0) this.trim();
  }

  /** Callbacks waiting for the entry to settle. */
  get waiters(): Array<(e: ObjEntry) => void> | undefined {
    return this.extra?.waiters;
  }
  set waiters(w: Array<(e: ObjEntry) => void> | undefined) {
    this.setRare("waiters", w);
  }

  /** Refs nested in this object's value (each has containedIn raised here). */
  get contains(): string[] | undefined {
    return this.extra?.contains;
  }
  set contains(c: string[] | undefined) {
    this.setRare("contains", c);
  }

  /** Owner only: processes (addresses) that borrow it. */
  get borrowers(): Set<string> | undefined {
    return this.extra?.borrowers;
  }
  set borrowers(b: Set<string> | undefined) {
    this.setRare("borrowers", b);
  }

  /** For borrowed objects: a fetch from the owner in progress. */
  get fetching(): Promise<ObjEntry> | undefined {
    return this.extra?.fetching;
  }
  set fetching(f: Promise<ObjEntry> | undefined) {
    this.setRare("fetching", f);
  }

  /**
   * The task producing this object (owner side, first return only): for ray.cancel.
   * Core-worker's TaskSpec, kept opaque: the table must not import task code (cycle).
   */
  get task(): object | undefined {
    return this.extra?.task;
  }
  set task(t: object | undefined) {
    this.setRare("task", t);
  }

  /** Called when an owned entry is freed (e.g. kill an actor whose last handle went away). */
  get onFree(): (() => void) | undefined {
    return this.extra?.onFree;
  }
  set onFree(f: (() => void) | undefined) {
    this.setRare("onFree", f);
  }

  private more(): EntryExtra<ObjEntry> {
    this.extra ??= new EntryExtra();
    return this.extra;
  }

  private setRare<K extends "waiters" | "contains" | "borrowers" | "fetching" | "task" | "onFree">(
    k: K,
    v: EntryExtra<ObjEntry>[K],
  ): void {
    if (v !== undefined) this.more()[k] = v;
    else if (this.extra) {
      this.extra[k] = v;
      this.trim();
    }
  }

  /** Drop `extra` once nothing in it differs from the defaults. */
  private trim(): void {
    if (this.extra?.unused) this.extra = undefined;
  }

  /** Settle the entry and wake waiters. Later settles are ignored (first result wins). */
  settle(state: typeof READY | typeof FAILED, data: Uint8Array): void {
    if (this.state !== PENDING) return;
    this.bits = (this.bits & ~(STATE_MASK | HAS_VALUE)) | state;
    this.payload = data;
    this.wake();
  }

  /** Settle with a primitive value kept as itself. */
  settleValue(value: unknown): void {
    if (this.state !== PENDING) return;
    this.bits = (this.bits & ~STATE_MASK) | READY | HAS_VALUE;
    this.payload = value;
    this.wake();
  }

  private wake(): void {
    const w = this.extra?.waiters;
    if (!w) return;
    this.waiters = undefined;
    for (const fn of w) fn(this);
  }

  /** Call `fn` once the entry is settled (at once if it already is). */
  whenSettled(fn: (e: ObjEntry) => void): void {
    if (this.state !== PENDING) fn(this);
    else {
      const x = this.more();
      (x.waiters ??= []).push(fn);
    }
  }

  /** Remove a waiter added by whenSettled (used by timeouts). */
  removeWaiter(fn: (e: ObjEntry) => void): void {
    const w = this.extra?.waiters;
    if (!w) return;
    const i = w.indexOf(fn);
    if (i >= 0) w.splice(i, 1);
    if (w.length === 0) this.waiters = undefined;
  }

  /** Does anything in this process keep the object? */
  get held(): boolean {
    if (this.localRefs > 0) return true;
    const x = this.extra;
    return x !== undefined && (x.lent > 0 || x.pins > 0 || x.containedIn > 0);
  }
}

/** Copy a view out of a larger buffer so that storing it does not pin the whole frame. */
export function detach(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  return bytes.slice();
}
