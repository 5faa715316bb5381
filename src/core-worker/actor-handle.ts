import { inspect } from "node:util";
import { decodingContext, ExtType, installExtension, noteContainedRef } from "../serialization/index.js";
import { defaultScope } from "./default-scope.js";

/** Internal state of a handle, under a symbol so user method names never collide with it. */
export const HANDLE = Symbol.for("tsray.actor-handle");

/** What every copy of a handle knows about its actor. */
export interface HandleState {
  readonly actorId: string;
  readonly className: string;
  readonly methods: readonly string[];
  /** Address of the process counting this actor's handles ("" for detached actors: not counted). */
  readonly owner: string;
}

/** How a core worker turns `handle.method.remote(args)` into an actor call (set by it on its scope). */
export interface ActorCallHooks {
  call(state: HandleState, method: string, args: unknown[], numReturns: number): unknown;
  handleCreated(state: HandleState): void;
  handleReleased(state: HandleState): void;
}

/**
 * What a handle needs of its core worker's scope (scope.ts's CoreWorkerScope is one):
 * named here, not imported, so handles do not depend on the core worker's modules.
 */
export interface HandleScope {
  actorHooks: ActorCallHooks | undefined;
  readonly handleFinalizer: FinalizationRegistry<HandleState>;
}

/** The scope of the core worker a handle belongs to, under a symbol like its state. */
const SCOPE = Symbol("tsray.actor-handle.scope");

const PASSTHROUGH = new Set<string | symbol>([
  "then",
  "toJSON",
  "constructor",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "@@__IMMUTABLE_ITERABLE__@@",
]);

/**
 * A reference to an actor. Every copy (passed to tasks, returned, put, nested in
 * values) drives the same actor. `handle.method.remote(...args)` calls a method;
 * calls from one caller run in submission order.
 * Use `ray.kill(handle)` to end the actor. A non-detached actor exits once no
 * handle to it exists anywhere; `handle.release()` (unless the class has its own
 * `release` method) or `using` drops this copy now instead of at garbage collection.
 */
export class ActorHandle {
  declare readonly [HANDLE]: HandleState;
  /** `using handle = Cls.remote()` drops this copy at the end of the scope. */
  declare readonly [Symbol.dispose]: () => void;

  /**
   * Make a handle (internal: users get handles from `Cls.remote()`, getActor, or values),
   * bound to `scope`'s core worker (by default the process's default instance): its
   * calls, release and collection go there.
   */
  static create(state: HandleState, scope?: HandleScope): ActorHandle {
    const s = scope ?? (defaultScope() as HandleScope | undefined);
    // `this`, not the class's own name: a self-reference makes bundlers rename the class.
    const target = Object.create(this.prototype) as ActorHandle;
    Object.defineProperty(target, HANDLE, { value: state });
    Object.defineProperty(target, SCOPE, { value: s });
    const methodCache = new Map<string, unknown>();
    const proxy = new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === "symbol" || PASSTHROUGH.has(key)) return Reflect.get(t, key, receiver);
        if (state.methods.includes(key)) {
          let m = methodCache.get(key);
          if (!m) methodCache.set(key, (m = makeMethod(state, key, 1, s)));
          return m;
        }
        if (key === "toString") return () => `ActorHandle(${state.className}, ${state.actorId})`;
        if (key === "release") return release;
        throw new TypeError(
          `actor ${state.className} has no method "${key}"; its methods are: ${state.methods.join(", ") || "(none)"}`,
        );
      },
      has(_t, key) {
        return typeof key === "string" && state.methods.includes(key);
      },
      set(_t, key) {
        throw new TypeError(
          `cannot set "${String(key)}" on an actor handle; call methods with handle.method.remote()`,
        );
      },
    });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      s?.handleFinalizer.unregister(proxy);
      s?.actorHooks?.handleReleased(state);
    };
    Object.defineProperty(target, Symbol.dispose, { value: release });
    if (s) {
      s.handleFinalizer.register(proxy, state, proxy);
      s.actorHooks?.handleCreated(state);
    }
    return proxy;
  }

  [inspect.custom](): string {
    const s = this[HANDLE];
    return `ActorHandle(${s.className}, ${s.actorId})`;
  }
}

function makeMethod(
  state: HandleState,
  method: string,
  numReturns: number,
  scope: HandleScope | undefined,
): unknown {
  const fn = function actorMethodCalledDirectly(): never {
    throw new TypeError(
      `actor method ${state.className}.${method} cannot be called directly; use handle.${method}.remote(...args)`,
    );
  };
  Object.defineProperties(fn, {
    remote: {
      value: (...args: unknown[]) => {
        // A handle whose core worker is gone (or that had none) uses the default instance.
        const hooks = scope?.actorHooks ?? (defaultScope() as HandleScope | undefined)?.actorHooks;
        if (!hooks) throw new TypeError(`${state.className}.${method}.remote(): tsray is not initialized`);
        return hooks.call(state, method, args, numReturns);
      },
    },
    options: {
      value: (opts: { numReturns?: number }) => {
        const keys = Object.keys(opts ?? {});
        const bad = keys.find((k) => k !== "numReturns");
        if (bad)
          throw new TypeError(
            `${state.className}.${method}.options(): unknown option "${bad}"; valid: numReturns`,
          );
        const n = opts.numReturns ?? 1;
        if (!Number.isInteger(n) || n < 1) {
          throw new TypeError(
            `${state.className}.${method}.options(): numReturns must be an integer >= 1, got ${String(n)}`,
          );
        }
        return makeMethod(state, method, n, scope);
      },
    },
  });
  return fn;
}

/** The scope of the core worker a handle belongs to (undefined: made while none ran, or not a handle). */
export function handleScope(v: unknown): HandleScope | undefined {
  if (typeof v !== "object" || v === null || !(v instanceof ActorHandle)) return undefined;
  return (v as unknown as Record<symbol, HandleScope | undefined>)[SCOPE];
}

/** The state of a handle, or undefined if `v` is not one. */
export function handleState(v: unknown): HandleState | undefined {
  if (typeof v !== "object" || v === null || !(v instanceof ActorHandle)) return undefined;
  return (v as ActorHandle)[HANDLE];
}

installExtension(
  ActorHandle,
  ExtType.ActorHandle,
  (h: ActorHandle) => {
    noteContainedRef(h);
    const s = h[HANDLE];
    return [s.actorId, s.className, s.methods, s.owner];
  },
  (data) => {
    const [actorId, className, methods, owner] = data as [string, string, string[], string];
    return ActorHandle.create(
      { actorId, className, methods, owner },
      decodingContext() as HandleScope | undefined,
    );
  },
);
