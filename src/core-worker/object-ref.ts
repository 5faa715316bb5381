import { inspect } from "node:util";
import { decodingContext, ExtType, installExtension, noteContainedRef } from "../serialization/index.js";
import { defaultScope } from "./default-scope.js";

/**
 * Where one core worker's own objects live, shared by its refs and entries: a ref to
 * an object this process owns keeps only the object's sequence number and this, not
 * its id string (issue 16, point 9: the id was ~40 bytes of every held put).
 */
export interface OwnerHome {
  /** Where the owning process listens. */
  readonly address: string;
  /** `<owner worker id>/`: an own object's id is this followed by its sequence number. */
  readonly prefix: string;
  /** The owning core worker's scope: refs made with this home belong to it. */
  readonly scope: RefScope;
}

/** A ref's key: the sequence number of an object of its home's process, or the object id. */
export type RefKey = number | string;

/** What a core worker does when its refs are created and dropped (set by its object manager on its scope). */
export interface RefHooks {
  created(ref: ObjectRef<unknown>): void;
  /** A ref was released or collected: its {@link ObjectRef.key}. */
  released(key: RefKey): void;
  /** Owner side, when a ref is serialized: [size, store name] if its value sits sealed in this node's store. */
  storedAt(ref: ObjectRef<unknown>): [number, string] | undefined;
  /** Receiving side: the sender said the value sits in store `store` (see storedAt). */
  located(ref: ObjectRef<unknown>, size: number, store: string): void;
}

/**
 * What a ref needs of its core worker's scope (scope.ts's CoreWorkerScope is one):
 * named here, not imported, so refs do not depend on the core worker's modules.
 */
export interface RefScope {
  refHooks: RefHooks | undefined;
  readonly refFinalizer: FinalizationRegistry<RefKey>;
  /** A ref was released by hand: report it now, skip its later collection. */
  releasedNow(key: RefKey): void;
}

/** False while {@link uncountedRef} constructs a ref. */
let announce = true;

/**
 * A ref whose creation is not reported to the hooks: for the owner's return refs,
 * whose entries are made with their local count already set (one table lookup per
 * call less). Its release and collection are reported as for any ref.
 */
export function uncountedRef<T>(seq: number, home: OwnerHome): ObjectRef<T> {
  announce = false;
  return new ObjectRef<T>(seq, home);
}

/**
 * A future for a value in the cluster. Create one with `f.remote()`, `put()`, or by
 * receiving it inside a value. Read it with `get`. It is deliberately NOT a thenable:
 * `await ref` yields the ref itself, so refs can be returned from async functions.
 *
 * Lifetime: the value stays alive while a ref to it exists; a ref is released when
 * garbage collected or, deterministically, by `release()` / `using`.
 */
export class ObjectRef<T = unknown> {
  /** Phantom field carrying the value type; never set at runtime. */
  declare readonly __valueType?: T;
  /**
   * Internal: the sequence number of an object owned by `home`'s process, or the
   * object id (refs made from an id: deserialized ones).
   */
  readonly key: RefKey;
  /** Internal: the owner: its {@link OwnerHome} for a numeric key, else its address. */
  readonly home: OwnerHome | string;
  /**
   * Internal: the scope of the core worker this ref belongs to (the one that created or
   * decoded it); undefined for a ref made while no core worker ran; null once released
   * (one slot for both: a held ref costs no more than before it had a scope).
   */
  scope: RefScope | undefined | null;

  /**
   * @param id globally unique object id (`<owner worker id>/<n>`)
   * @param ownerAddress where the owning process listens
   */
  constructor(id: string, ownerAddress: string);
  /** Internal: a ref made by `scope`'s core worker from an id (decoding); without one, the default instance's. */
  constructor(id: string, ownerAddress: string, scope: RefScope | undefined);
  /** Internal: a ref to object number `seq` of `home`'s process (see {@link OwnerHome}). */
  constructor(seq: number, home: OwnerHome);
  constructor(key: RefKey, home: OwnerHome | string, scope?: RefScope) {
    this.key = key;
    this.home = home;
    const s = typeof home === "string" ? (scope ?? (defaultScope() as RefScope | undefined)) : home.scope;
    this.scope = s;
    if (s) {
      s.refFinalizer.register(this, key);
      if (announce) s.refHooks?.created(this as ObjectRef<unknown>);
    }
    announce = true;
  }

  /** Globally unique object id (`<owner worker id>/<n>`); built on each read for an own object's ref. */
  get id(): string {
    const k = this.key;
    return typeof k === "number" ? (this.home as OwnerHome).prefix + k : k;
  }

  /** Where the owning process listens. */
  get ownerAddress(): string {
    const h = this.home;
    return typeof h === "string" ? h : h.address;
  }

  /** Drop this ref now instead of at garbage collection. Idempotent; the ref must not be used afterwards. */
  release(): void {
    const s = this.scope;
    if (s === null) return;
    this.scope = null;
    s?.releasedNow(this.key);
  }

  /** True once `release()` ran. */
  get isReleased(): boolean {
    return this.scope === null;
  }

  /** `using ref = f.remote()` releases the ref at the end of the scope. */
  [Symbol.dispose](): void {
    this.release();
  }

  toString(): string {
    return `ObjectRef(${this.id})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

installExtension(
  ObjectRef,
  ExtType.ObjectRef,
  (ref: ObjectRef<unknown>) => {
    noteContainedRef(ref);
    // A value the owner keeps in its node's store travels with where it is, so a
    // reader on that node maps it at once instead of first asking the owner.
    const at = ref.scope?.refHooks?.storedAt(ref);
    return at ? [ref.id, ref.ownerAddress, at[0], at[1]] : [ref.id, ref.ownerAddress];
  },
  (data) => {
    const [id, owner, size, store] = data as [string, string, number?, string?];
    const ref = new ObjectRef(id, owner, decodingContext() as RefScope | undefined);
    if (store !== undefined) ref.scope?.refHooks?.located(ref, size!, store);
    return ref;
  },
);
