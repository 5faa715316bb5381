import { ObjectLostError } from "../errors/index.js";
import { Msg } from "../protocol/index.js";
import { encode } from "../serialization/index.js";
import type { Endpoint } from "../transport/index.js";
import { EntryMap } from "./entry-map.js";
import type { KeepAlive } from "./keep-alive.js";
import type { ObjectRef, OwnerHome, RefKey } from "./object-ref.js";
import { ObjEntry, PENDING, REGISTERED, REGISTERING, UNREGISTERED } from "./object-table.js";
import { refKey } from "./ref-key.js";

/**
 * Distributed reference counting, per process (the ownership model):
 * - an owner frees an object when this process holds it no more (see ObjEntry.held)
 *   and no borrower is left;
 * - a process that receives a ref it does not own registers with the owner
 *   (AddBorrower, batched per owner) and, once it holds it no more, says so
 *   (RemoveBorrower). No RemoveBorrower leaves while any AddBorrower is unanswered,
 *   so a release can never overtake the registration that makes it safe;
 * - a sender keeps what it sends alive until the receiver registered: arguments are
 *   *lent* until the call finishes (the executor registers before replying), refs in
 *   return values are *pinned* until the caller sends Unpin.
 * A borrower whose connection closes is treated as dead: its borrows and pins go.
 */
export class RefCounter {
  /** Where this process's own objects live (shared by their refs and entries). */
  readonly home: OwnerHome;
  protected readonly objects: EntryMap;
  private readonly pendingAdds = new Map<string, string[]>();
  private readonly pendingRemoves = new Map<string, Set<string>>();
  private addsScheduled = false;
  private registrationsInFlight = 0;
  private registeredWaiters: Array<() => void> = [];
  private readonly borrowedBy = new Map<string, Set<string>>();
  private readonly pinsByPeer = new Map<string, string[]>();
  /** Borrowed refs/handles created since the last collection (workers collect when idle). */
  createdSinceGc = 0;

  constructor(
    protected readonly selfId: string,
    protected readonly endpoint: Endpoint,
    protected readonly keepAlive: KeepAlive,
  ) {
    const prefix = `${selfId}/`;
    // The address is known once the endpoint listens: read it then.
    this.home = {
      prefix,
      get address() {
        return endpoint.listenAddress;
      },
    };
    this.objects = new EntryMap(this.home);
  }

  protected get address(): string {
    return this.endpoint.listenAddress;
  }

  /** Number of objects tracked (owned + borrowed). */
  get size(): number {
    return this.objects.size;
  }

  /** The entry for a ref this process holds, created if needed. */
  entry(id: string, owner: string): ObjEntry {
    let e = this.objects.get(id);
    if (!e) {
      const seq = this.objects.seqOf(id);
      e = seq >= 0 ? new ObjEntry(seq, true, this.home) : new ObjEntry(id, owner === this.address, owner);
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

  /** A ref instance was created in this process. */
  protected onRefInstance(ref: ObjectRef<unknown>): void {
    const e = this.objects.forRef(ref) ?? this.entry(ref.id, ref.ownerAddress);
    e.localRefs++;
    this.createdSinceGc++;
    if (!e.owned) this.ensureRegistered(e);
  }

  /** A ref instance (or handle) was created in this process. */
  onRefCreated(id: string, owner: string): void {
    const e = this.entry(id, owner);
    e.localRefs++;
    this.createdSinceGc++;
    if (!e.owned) this.ensureRegistered(e);
  }

  /** A ref instance (or handle) was released or collected: its key (an actor handle's id). */
  onRefReleased(key: RefKey): void {
    const e = this.objects.byKey(key);
    if (!e) return;
    e.localRefs--;
    this.check(e);
  }

  /** `outer` contains refs `nested`: they stay alive while it does. */
  protected setContains(outer: ObjEntry, nested: Array<[string, string]>, freeNow = false): void {
    outer.contains = nested.map(([id]) => id);
    for (const [id, owner] of nested) {
      const e = this.entry(id, owner);
      e.containedIn++;
      this.ensureRegistered(e);
    }
    if (freeNow) this.free(outer);
  }

  /** Keep refs sent to `peer` inside a return value alive until it sends Unpin. */
  pinFor(peer: string, keys: Array<[string, string]>): void {
    let list = this.pinsByPeer.get(peer);
    if (!list) this.pinsByPeer.set(peer, (list = []));
    for (const [id, owner] of keys) {
      this.entry(id, owner).pins++;
      list.push(id);
    }
  }

  /** The caller registered for refs we pinned for it. */
  onUnpin(ids: string[], peer: string): void {
    const list = this.pinsByPeer.get(peer);
    for (const id of ids) {
      const i = list ? list.indexOf(id) : -1;
      if (i < 0) continue;
      list!.splice(i, 1);
      const e = this.objects.get(id);
      if (!e) continue;
      e.pins--;
      this.check(e);
    }
  }

  /** A borrower registered (owner side). Returns the ids this owner no longer has. */
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

  /** A borrower holds these no more (owner side). */
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

  /** A peer process is gone: drop its borrows and the pins kept for it. */
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

  /** Run `fn` once every registration sent so far is answered (at once if none is pending). */
  whenRegistered(fn: () => void): void {
    if (this.registrationsInFlight === 0 && this.pendingAdds.size === 0) fn();
    else this.registeredWaiters.push(fn);
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

  protected free(e: ObjEntry): void {
    this.objects.remove(e);
    e.onFree?.();
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
    if (!this.addsScheduled) {
      this.addsScheduled = true;
      queueMicrotask(() => this.flushAdds());
    }
  }

  private flushAdds(): void {
    this.addsScheduled = false;
    for (const [owner, ids] of this.pendingAdds) {
      this.registrationsInFlight++;
      this.keepAlive.hold();
      this.endpoint
        .connect(owner)
        .then((conn) => conn.request({ t: Msg.AddBorrower, ids }))
        .then(
          (r) => this.registered(ids, r.missing),
          () => this.registered(ids, []), // owner gone: reads will fail with OwnerDiedError
        )
        .finally(() => {
          this.keepAlive.release();
          if (--this.registrationsInFlight === 0) this.onAllRegistered();
        });
    }
    this.pendingAdds.clear();
  }

  private registered(ids: string[], missing: string[]): void {
    for (const id of ids) {
      const e = this.objects.get(id);
      if (e && e.registration === REGISTERING) e.registration = REGISTERED;
    }
    for (const id of missing) {
      const e = this.objects.get(id);
      if (e && e.state === PENDING) {
        e.settle(
          2,
          encode(new ObjectLostError(`object ${id} was freed by its owner before this process received it`)),
        );
      }
    }
  }

  private onAllRegistered(): void {
    if (this.pendingAdds.size > 0) return;
    const waiters = this.registeredWaiters;
    this.registeredWaiters = [];
    for (const fn of waiters) fn();
    this.flushRemoves();
  }

  private queueRemove(owner: string, id: string): void {
    let set = this.pendingRemoves.get(owner);
    if (!set) this.pendingRemoves.set(owner, (set = new Set()));
    set.add(id);
    if (this.registrationsInFlight === 0) queueMicrotask(() => this.flushRemoves());
  }

  private flushRemoves(): void {
    if (this.registrationsInFlight > 0 || this.pendingAdds.size > 0) return;
    for (const [owner, set] of this.pendingRemoves) {
      if (set.size === 0) continue;
      const ids = [...set];
      this.endpoint.existing(owner).then((conn) => {
        if (conn) conn.send({ t: Msg.RemoveBorrower, ids });
        else
          this.endpoint.connect(owner).then(
            (c) => c.send({ t: Msg.RemoveBorrower, ids }),
            () => undefined,
          );
      });
    }
    this.pendingRemoves.clear();
  }

  close(): void {
    this.registeredWaiters = [];
  }
}
