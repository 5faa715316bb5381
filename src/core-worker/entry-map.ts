import type { ObjectRef, OwnerHome, RefKey } from "./object-ref.js";
import type { ObjEntry } from "./object-table.js";

/**
 * The entries of one process, by key: its own objects by sequence number (no id
 * string kept per object: see {@link OwnerHome}), every other one (borrowed objects,
 * actor handles) by id. Lookups by id map an own object's id to its number, so
 * callers with ids from the wire see one table.
 */
export class EntryMap {
  private readonly own = new Map<number, ObjEntry>();
  private readonly other = new Map<string, ObjEntry>();

  constructor(private readonly home: OwnerHome) {}

  /** Number of entries. */
  get size(): number {
    return this.own.size + this.other.size;
  }

  /**
   * The sequence number in an id of this process's own objects (`<prefix><digits>`,
   * exactly as idFor writes it: no sign, no leading zero), else -1.
   */
  seqOf(id: string): number {
    const prefix = this.home.prefix;
    const n = id.length - prefix.length;
    if (n < 1 || n > 15 || !id.startsWith(prefix)) return -1;
    let seq = 0;
    for (let i = prefix.length; i < id.length; i++) {
      const d = id.charCodeAt(i) - 48;
      if (d < 0 || d > 9 || (d === 0 && seq === 0)) return -1;
      seq = seq * 10 + d;
    }
    return seq;
  }

  /** The entry for an object id. */
  get(id: string): ObjEntry | undefined {
    const seq = this.seqOf(id);
    return seq >= 0 ? this.own.get(seq) : this.other.get(id);
  }

  /** The entry for a ref's key (what the finalizer reports). */
  byKey(key: RefKey): ObjEntry | undefined {
    return typeof key === "number" ? this.own.get(key) : this.get(key);
  }

  /** The entry a ref stands for, without building its id when it is one of this process's own. */
  forRef(ref: ObjectRef<unknown>): ObjEntry | undefined {
    const k = ref.key;
    if (typeof k === "string") return this.get(k);
    // A numeric key of another home: a ref kept from an earlier session in this process.
    return ref.home === this.home ? this.own.get(k) : undefined;
  }

  /** Track `e` (replaces an entry with the same key). */
  add(e: ObjEntry): void {
    const k = e.key;
    if (typeof k === "number") this.own.set(k, e);
    else this.other.set(k, e);
  }

  /** Is `e` itself the tracked entry for its key? */
  holds(e: ObjEntry): boolean {
    const k = e.key;
    return (typeof k === "number" ? this.own.get(k) : this.other.get(k)) === e;
  }

  /** Stop tracking `e` (only if it is the tracked entry for its key). */
  remove(e: ObjEntry): void {
    if (!this.holds(e)) return;
    const k = e.key;
    if (typeof k === "number") this.own.delete(k);
    else this.other.delete(k);
  }

  /** Every entry. */
  *values(): IterableIterator<ObjEntry> {
    yield* this.own.values();
    yield* this.other.values();
  }
}
