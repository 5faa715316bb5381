import { ObjectLostError } from "../errors/index.js";
import { encode } from "../serialization/index.js";
import { EntryMap } from "./entry-map.js";
import type { ObjectRef, OwnerHome, RefKey } from "./object-ref.js";
import { ObjEntry, PENDING, REGISTERED, REGISTERING, UNREGISTERED } from "./object-table.js";
import { refKey } from "./ref-key.js";

/**
 * What the counter wants done, in order (see {@link RefCounter.outbox}):
 * - `flush`: call {@link RefCounter.flush} once the current tick's events are in (it batches);
 * - `add`: send AddBorrower `{ ids }` to owner `to`, then report the answer with
 *   {@link RefCounter.onAddReply} (an unreachable owner answers "nothing missing");
 * - `remove`: send RemoveBorrower `{ ids }` to owner `to` (one-way);
 * - `free`: an owned entry was freed: run its `onFree`, free its copy in the object store;
 * - `lost`: the owner no longer had `entry` when this process registered: fail its reads;
 * - `registered`: every AddBorrower sent so far is answered (run whoever waits for that).
 */
export type RefOut =
  | { readonly t: "flush" }
  | { readonly t: "add"; readonly to: string; readonly ids: string[] }
  | { readonly t: "remove"; readonly to: string; readonly ids: string[] }
  | { readonly t: "free"; readonly entry: ObjEntry }
  | { readonly t: "lost"; readonly entry: ObjEntry }
  | { readonly t: "registered" };

// Constant messages: the common decisions allocate nothing.
const FLUSH: RefOut = { t: "flush" };
const REGISTERED_ALL: RefOut = { t: "registered" };

/**
 * Distributed reference counting of one process, as pure decisions: events in (a ref
 * was created or dropped, a borrower came or left, an AddBorrower was answered, a peer
 * is gone, ...), messages and local decisions out, appended to {@link outbox}. No I/O,
 * no timers: a shell (ref-shell.ts) drains the outbox after each event and sends.
 *
 * The rules (docs/design/refcount.md):
 * - an owner frees an object when this process holds it no more (see ObjEntry.held)
 *   and no borrower is left;
 * - a process that receives a ref it does not own registers with the owner
 *   (AddBorrower, batched per owner until `flush`) and, once it holds it no more, says
 *   so (RemoveBorrower). No RemoveBorrower leaves while any AddBorrower is unanswered,
 *   so a release can never overtake the registration that makes it safe;
 * - a sender keeps what it sends alive until the receiver registered: arguments are
 *   *lent* until the call finishes (the executor registers before replying), refs in
 *   return values are *pinned* until the caller sends Unpin.
 * A borrower whose connection closes is treated as dead: its borrows and pins go.
 */
export class RefCounter {
  /**
   * Messages and decisions not yet taken by the shell, oldest first. One array for the
   * process's life: the shell reads it after each event and empties it.
   */
  readonly outbox: RefOut[] = [];
  /** Every entry of this process (owned and borrowed). */
  readonly objects: EntryMap;
  private readonly pendingAdds = new Map<string, string[]>();
  private readonly pendingRemoves = new Map<string, Set<string>>();
  private flushQueued = false;
  private registrationsInFlight = 0;
  private readonly borrowedBy = new Map<string, Set<string>>();
  private readonly pinsByPeer = new Map<string, string[]>();
  /** Borrowed refs/handles created since the last collection (workers collect when idle). */
  createdSinceGc = 0;

  /** @param home where this process's own objects live (its address may be read late: once it listens) */
  constructor(readonly home: OwnerHome) {
    this.objects = new EntryMap(home);
  }

  /** Number of objects tracked (owned + borrowed). */
  get size(): number {
    return this.objects.size;
  }

  /** True when every registration queued or sent is answered (the barrier is open). */
  get allRegistered(): boolean {
    return this.registrationsInFlight === 0 && this.pendingAdds.size === 0;
  }

  /** The entry for a ref this process holds, created if needed. */
  entry(id: string, owner: string): ObjEntry {
    let e = this.objects.get(id);
    if (!e) {
      const seq = this.objects.seqOf(id);
      e =
        seq >= 0 ? new ObjEntry(seq, true, this.home) : new ObjEntry(id, owner === this.home.address, owner);
      this.objects.add(e);
      if (e.owned && !e.isActor) {
        // An owned id we no longer track: it was freed; reading it must fail clearly.
        e.settle(2, encode(new ObjectLostError(`object ${id} was already freed by its owner`)));
      }
    }
    return e;
  }

  /** The tracked entry of an owned object, if any. */
  owned(id: string): ObjEntry | undefined {
    const e = this.objects.get(id);
    return e?.owned ? e : undefined;
  }

  /** [id, owner] of every ref-like value in `values` (ObjectRefs and counted actor handles). */
  keysOf(values: unknown[]): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const v of values) {
      const k = refKey(v);
      if (k) out.push(k);
    }
    return out;
  }

  /** Event: a ref instance was created in this process. */
  onRefInstance(ref: ObjectRef<unknown>): void {
    const e = this.objects.forRef(ref) ?? this.entry(ref.id, ref.ownerAddress);
    e.localRefs++;
    this.createdSinceGc++;
    if (!e.owned) this.ensureRegistered(e);
  }

  /** Event: a ref instance (or handle) was created in this process. */
  onRefCreated(id: string, owner: string): void {
    const e = this.entry(id, owner);
    e.localRefs++;
    this.createdSinceGc++;
    if (!e.owned) this.ensureRegistered(e);
  }

  /** Event: a ref instance (or handle) was released or collected: its key (an actor handle's id). */
  onRefReleased(key: RefKey): void {
    const e = this.objects.byKey(key);
    if (!e) return;
    e.localRefs--;
    this.check(e);
  }

  /** Event: `outer`'s value contains refs `nested`: they stay alive while it does (freed now if `freeNow`). */
  setContains(outer: ObjEntry, nested: Array<[string, string]>, freeNow = false): void {
    outer.contains = nested.map(([id]) => id);
    for (const [id, owner] of nested) {
      const e = this.entry(id, owner);
      e.containedIn++;
      this.ensureRegistered(e);
    }
    if (freeNow) this.free(outer);
  }

  /** Event: `entries` were lent to a call that finished (their lent counts go down). */
  unlend(entries: readonly ObjEntry[]): void {
    for (const e of entries) {
      e.lent--;
      this.check(e);
    }
  }

  /** Event: refs were sent to `peer` inside a return value: keep them alive until it sends Unpin. */
  pinFor(peer: string, keys: Array<[string, string]>): void {
    let list = this.pinsByPeer.get(peer);
    if (!list) this.pinsByPeer.set(peer, (list = []));
    for (const [id, owner] of keys) {
      this.entry(id, owner).pins++;
      list.push(id);
    }
  }

  /** Event: the caller registered for refs we pinned for it (Unpin). */
  onUnpin(ids: string[], peer: string): void {
    const list = this.pinsByPeer.get(peer);
    if (!list) return;
    for (const id of ids) {
      const i = list.indexOf(id);
      if (i < 0) continue;
      list.splice(i, 1);
      const e = this.objects.get(id);
      if (!e) continue;
      e.pins--;
      this.check(e);
    }
  }

  /** Event (owner side): a borrower registered. Returns the ids this owner no longer has. */
  onAddBorrower(ids: string[], peer: string): { missing: string[] } {
    const missing: string[] = [];
    let index = this.borrowedBy.get(peer);
    for (const id of ids) {
      const e = this.objects.get(id);
      if (!e?.owned) {
        missing.push(id);
        continue;
      }
      (e.borrowers ??= new Set()).add(peer);
      if (!index) this.borrowedBy.set(peer, (index = new Set()));
      index.add(id);
    }
    return { missing };
  }

  /** Event (owner side): a borrower holds these no more. */
  onRemoveBorrower(ids: string[], peer: string): void {
    const index = this.borrowedBy.get(peer);
    for (const id of ids) {
      index?.delete(id);
      const e = this.objects.get(id);
      if (!e?.borrowers) continue;
      e.borrowers.delete(peer);
      this.check(e);
    }
  }

  /** Event: a peer process is gone (its connection closed): drop its borrows and the pins kept for it. */
  onPeerGone(peer: string): void {
    if (!peer) return;
    const index = this.borrowedBy.get(peer);
    if (index) {
      this.borrowedBy.delete(peer);
      this.onRemoveBorrower([...index], peer);
    }
    const pins = this.pinsByPeer.get(peer);
    if (pins) this.onUnpin([...pins], peer);
    this.pinsByPeer.delete(peer);
  }

  /** Event: the tick's events are in: batch queued registrations (and releases, if the barrier is open). */
  flush(): void {
    this.flushQueued = false;
    for (const [owner, ids] of this.pendingAdds) {
      this.registrationsInFlight++;
      this.outbox.push({ t: "add", to: owner, ids });
    }
    this.pendingAdds.clear();
    this.flushRemoves();
  }

  /** Event: an AddBorrower sent as `add` was answered (`missing`: ids the owner no longer had). */
  onAddReply(ids: string[], missing: string[]): void {
    for (const id of ids) {
      const e = this.objects.get(id);
      if (e && e.registration === REGISTERING) e.registration = REGISTERED;
    }
    for (const id of missing) {
      const e = this.objects.get(id);
      if (e && e.state === PENDING) this.outbox.push({ t: "lost", entry: e });
    }
    if (--this.registrationsInFlight > 0 || this.pendingAdds.size > 0) return;
    this.outbox.push(REGISTERED_ALL);
    this.flushRemoves();
  }

  /** Re-check an entry after its counts changed: free (owner) or release (borrower) when unheld. */
  check(e: ObjEntry): void {
    if (e.held) return;
    if (e.owned) {
      if (e.state === PENDING && !e.isActor) return; // freed when its task finishes
      if (e.borrowers && e.borrowers.size > 0) return;
      this.free(e);
      return;
    }
    if (!this.objects.holds(e)) return;
    this.objects.remove(e);
    if (e.registration !== UNREGISTERED) this.queueRemove(e.owner, e.id);
  }

  /** Free an owned entry: stop tracking it and drop what its value kept alive. */
  free(e: ObjEntry): void {
    this.objects.remove(e);
    if (e.onFree || e.stored) this.outbox.push({ t: "free", entry: e });
    const inner = e.contains;
    e.contains = undefined;
    if (!inner) return;
    for (const id of inner) {
      const c = this.objects.get(id);
      if (!c) continue;
      c.containedIn--;
      this.check(c);
    }
  }

  private ensureRegistered(e: ObjEntry): void {
    if (e.owned || e.registration !== UNREGISTERED) return;
    const queued = this.pendingRemoves.get(e.owner);
    if (queued?.delete(e.id)) {
      e.registration = REGISTERED; // never left the owner's borrower set
      return;
    }
    e.registration = REGISTERING;
    let list = this.pendingAdds.get(e.owner);
    if (!list) this.pendingAdds.set(e.owner, (list = []));
    list.push(e.id);
    this.queueFlush();
  }

  private queueRemove(owner: string, id: string): void {
    let set = this.pendingRemoves.get(owner);
    if (!set) this.pendingRemoves.set(owner, (set = new Set()));
    set.add(id);
    if (this.registrationsInFlight === 0) this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.outbox.push(FLUSH);
  }

  private flushRemoves(): void {
    if (!this.allRegistered) return;
    for (const [owner, set] of this.pendingRemoves) {
      if (set.size > 0) this.outbox.push({ t: "remove", to: owner, ids: [...set] });
    }
    this.pendingRemoves.clear();
  }
}
