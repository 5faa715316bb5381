import type { ActorCallHooks, HandleScope, HandleState } from "./actor-handle.js";
import type { RefHooks, RefKey, RefScope } from "./object-ref.js";

/**
 * The core worker a scope belongs to, opaque here (runtime.ts's `coreWorkerOf` knows it is
 * a CoreWorker): the scope is imported by the modules core-worker.ts imports, so naming
 * that class here would close a cycle of types.
 */
export type ScopeOwner = object;

/**
 * One core worker's side of the refs and handles it creates or decodes (issue 9, point 1:
 * no process-wide singletons). Every ObjectRef and ActorHandle keeps the scope it was
 * made in and reports its creation, release and collection here, and an actor call goes
 * to this scope's submitter: several core workers in one process never see each other's
 * refs. Decoding a value takes the decoding core worker's scope as its context, so refs
 * and handles inside values bind to it too.
 *
 * Each scope has its own FinalizationRegistry: a collected ref reports to the core worker
 * that counted it, with no per-ref record of which one that was (the held value stays
 * the ref's key). Once the core worker closes, the hooks are gone and late collections
 * report nothing.
 */
export class CoreWorkerScope implements RefScope, HandleScope {
  /** What the object manager does when refs are created and dropped (set by it; cleared at close). */
  refHooks: RefHooks | undefined = undefined;
  /** How `handle.method.remote()` reaches the core worker's submitter (set by it; cleared at close). */
  actorHooks: ActorCallHooks | undefined = undefined;
  /**
   * Refs released by hand whose instances are not collected yet, per key. Registering
   * without an unregister token costs half as much as with one (a token is a second
   * weak cell and a hash-table entry per ref, on every call's hot path), so release()
   * does not unregister: it counts here, and the finalizer skips that many collections
   * of the key. If another instance with the same key is collected first, the skip lands
   * on it and the hand-released instance's collection releases instead: the object may
   * live until then, never shorter than a live ref needs. (Instances of one object may
   * have different keys — a number where this process made the ref, the id where it
   * was deserialized — each key counts its own instances, so the balance holds.)
   */
  private readonly releasedByHand = new Map<RefKey, number>();
  /** Collections of this scope's refs (held value: the ref's key). */
  readonly refFinalizer = new FinalizationRegistry<RefKey>((key) => {
    const skip = this.releasedByHand.get(key);
    if (skip === undefined) this.refHooks?.released(key);
    else if (skip > 1) this.releasedByHand.set(key, skip - 1);
    else this.releasedByHand.delete(key);
  });
  /** Collections of this scope's actor handles. */
  readonly handleFinalizer = new FinalizationRegistry<HandleState>((s) => this.actorHooks?.handleReleased(s));

  /**
   * @param worker the core worker this scope belongs to (undefined for an object manager
   *   used on its own, as unit tests do); cleared at close, so the top-level API falls
   *   back to the default instance for refs of a closed one, and a ref kept past its
   *   session does not keep that core worker reachable.
   */
  constructor(public worker: ScopeOwner | undefined = undefined) {}

  /** A ref of this scope was released by hand: report it now, and skip its later collection. */
  releasedNow(key: RefKey): void {
    this.releasedByHand.set(key, (this.releasedByHand.get(key) ?? 0) + 1);
    this.refHooks?.released(key);
  }

  /** The core worker closed: nothing reaches it through this scope any more. */
  close(): void {
    this.refHooks = undefined;
    this.actorHooks = undefined;
    this.worker = undefined;
  }
}
