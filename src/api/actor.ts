import { defineRemoteTarget } from "../code-loading/index.js";
import type { ObjectRef } from "../core-worker/index.js";
import {
  coreWorkerOf,
  ActorHandle as HandleClass,
  handleScope,
  handleState,
  requireCoreWorker,
} from "../core-worker/index.js";
import { type ActorInfo, Msg } from "../protocol/index.js";
import { toDemand, validateLabelSelector, validateSchedulingStrategy } from "../scheduling/index.js";
import { currentNamespace } from "./init.js";
import type { RemoteArgs } from "./remote-function.js";
import { checkKeys, optInt, optString, show } from "./validate.js";

/** Options of an actor class (`remote(opts, Class)` or `.options(opts)`). */
export interface ActorOptions {
  /** CPUs held for the actor's whole life (default 0: many actors can share a node). */
  numCpus?: number;
  /** GPUs held for life; the actor sees their ids via getGpuIds() and CUDA_VISIBLE_DEVICES. */
  numGpus?: number;
  resources?: Record<string, number>;
  memory?: number;
  /** Restarts after the actor's process dies (default 0; -1: forever). */
  maxRestarts?: number;
  /** Re-sends of in-flight calls after a restart (default 0; -1: forever). */
  maxTaskRetries?: number;
  /** Calls running at once (default 1; 1000 when the class has async methods). */
  maxConcurrency?: number;
  /** Register the actor under this name (see getActor). */
  name?: string;
  /** Namespace of the name (default: the driver's namespace). */
  namespace?: string;
  /** "detached": the actor outlives its creator until ray.kill(). */
  lifetime?: "detached" | "non_detached";
  /** With name: return the existing actor of that name instead of failing. */
  getIfExists?: boolean;
  /**
   * Checkpoint after every `calls` calls and/or every `ms` milliseconds (beyond Ray).
   * The class must define `saveCheckpoint(): S` and `restoreCheckpoint(state: S)`;
   * after a restart (maxRestarts) the latest checkpoint is restored and the calls
   * made since are replayed in order, so the actor resumes where it was. See
   * docs/design/fault-tolerance.md for the exact guarantee.
   */
  checkpointEvery?: { calls?: number; ms?: number };
  /**
   * Which node the head creates the actor on (and restarts it on). `"DEFAULT"`: the
   * creator's node while it stays at or under half used, then the least utilized node
   * with room. `"SPREAD"`: round-robin over the nodes with room. `{ nodeId, soft }`:
   * that node; hard (the default) fails the actor (its calls reject with ActorDiedError
   * naming the node) when the node is unknown, dead or too small; soft falls back to
   * DEFAULT. Checked at the call site: anything else is a TypeError.
   */
  schedulingStrategy?: "DEFAULT" | "SPREAD" | { nodeId: string; soft?: boolean };
  /**
   * Only nodes whose labels match every entry (`"v"`, `"a|b"`, `"!v"`, `"!a|b"`, as for
   * tasks). No live node matching: the actor fails, naming the selector.
   */
  labelSelector?: Record<string, string>;
}

const ACTOR_OPTION_KEYS = [
  "numCpus",
  "numGpus",
  "resources",
  "memory",
  "maxRestarts",
  "maxTaskRetries",
  "maxConcurrency",
  "name",
  "namespace",
  "lifetime",
  "getIfExists",
  "checkpointEvery",
  "schedulingStrategy",
  "labelSelector",
] as const;

/** A class whose instances can become actors. */
export type ActorConstructor = new (...args: never[]) => object;

/** Method keys of T (functions other than the constructor). */
export type MethodKeys<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => unknown ? (K extends "constructor" ? never : K) : never;
}[keyof T];

/** `handle.method`: call it with `.remote(...)`. */
export interface ActorMethod<F> {
  remote(
    ...args: F extends (...a: infer P) => unknown ? RemoteArgs<P> : never
  ): ObjectRef<F extends (...a: never[]) => infer R ? Awaited<R> : never>;
  /** Per-call options: `numReturns` (the method then returns an array of that length). */
  options(opts: { numReturns?: number }): {
    remote(...args: F extends (...a: infer P) => unknown ? RemoteArgs<P> : never): ObjectRef<unknown>[];
  };
}

/** A handle to an actor of class T: each method of T as an ActorMethod. */
export type ActorHandle<T = UntypedActor> = HandleClass & {
  readonly [K in MethodKeys<T>]: ActorMethod<T[K]>;
};
/** The runtime class of handles (for `instanceof`). */
export const ActorHandle: typeof HandleClass = HandleClass;

// biome-ignore lint/suspicious/noExplicitAny: a handle found by name has no static type; callers may narrow with getActor<T>.
type UntypedActor = Record<string, (...args: any[]) => any>;

/** A remote class: `Cls.remote(...args)` starts an actor and returns its handle. */
export interface ActorClass<C extends ActorConstructor> {
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>>;
  /** A copy of this actor class with some options overridden. */
  options(opts: ActorOptions): ActorClass<C>;
}

function methodNames(Cls: Function): { methods: string[]; hasAsync: boolean } {
  const names = new Set<string>();
  let hasAsync = false;
  for (let p = Cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const key of Object.getOwnPropertyNames(p)) {
      if (key === "constructor" || names.has(key)) continue;
      const d = Object.getOwnPropertyDescriptor(p, key);
      if (typeof d?.value !== "function") continue;
      names.add(key);
      const kind = (d.value as Function).constructor?.name;
      if (kind === "AsyncFunction" || kind === "AsyncGeneratorFunction") hasAsync = true;
    }
  }
  return { methods: [...names], hasAsync };
}

function resolveActorOptions(
  opts: ActorOptions,
  where: string,
  hasAsync: boolean,
  methods: readonly string[],
) {
  checkKeys(opts, ACTOR_OPTION_KEYS, where);
  const raw = opts as Record<string, unknown>;
  const name = optString(raw, "name", where);
  const namespace = optString(raw, "namespace", where);
  const lifetime = opts.lifetime;
  if (lifetime !== undefined && lifetime !== "detached" && lifetime !== "non_detached") {
    throw new TypeError(`${where}: lifetime must be "detached" or "non_detached", got ${show(lifetime)}`);
  }
  if (opts.getIfExists !== undefined && typeof opts.getIfExists !== "boolean") {
    throw new TypeError(`${where}: getIfExists must be a boolean, got ${show(opts.getIfExists)}`);
  }
  if (opts.getIfExists && name === undefined) {
    throw new TypeError(
      `${where}: getIfExists needs a name (it returns the actor registered under name), e.g. { name: "counter", getIfExists: true }`,
    );
  }
  const ce = opts.checkpointEvery;
  let checkpointEvery: { calls?: number; ms?: number } | undefined;
  if (ce !== undefined) {
    if (typeof ce !== "object" || ce === null) {
      throw new TypeError(`${where}: checkpointEvery must be an object { calls?, ms? }, got ${show(ce)}`);
    }
    checkKeys(ce, ["calls", "ms"], `${where} checkpointEvery`);
    const calls = optInt(
      ce as Record<string, unknown>,
      "calls",
      1,
      Number.MAX_SAFE_INTEGER,
      `${where} checkpointEvery`,
    );
    const ms = optInt(
      ce as Record<string, unknown>,
      "ms",
      1,
      Number.MAX_SAFE_INTEGER,
      `${where} checkpointEvery`,
    );
    if (calls === undefined && ms === undefined) {
      throw new TypeError(`${where}: checkpointEvery needs calls and/or ms, e.g. { calls: 100 }`);
    }
    const missing = ["saveCheckpoint", "restoreCheckpoint"].filter((m) => !methods.includes(m));
    if (missing.length > 0) {
      throw new TypeError(
        `${where}: checkpointEvery needs the class to define saveCheckpoint() and restoreCheckpoint(state); ` +
          `it lacks ${missing.join(" and ")}`,
      );
    }
    checkpointEvery = { ...(calls !== undefined ? { calls } : {}), ...(ms !== undefined ? { ms } : {}) };
  }
  const strategy = validateSchedulingStrategy(opts.schedulingStrategy, where);
  const labelSelector = validateLabelSelector(opts.labelSelector, where);
  return {
    demand: toDemand(opts, 0, where),
    strategy: strategy === "DEFAULT" ? undefined : strategy,
    labelSelector: Object.keys(labelSelector).length > 0 ? labelSelector : undefined,
    maxRestarts: optInt(raw, "maxRestarts", -1, Number.MAX_SAFE_INTEGER, where) ?? 0,
    maxTaskRetries: optInt(raw, "maxTaskRetries", -1, Number.MAX_SAFE_INTEGER, where) ?? 0,
    maxConcurrency: optInt(raw, "maxConcurrency", 1, 1_000_000, where) ?? (hasAsync ? 1000 : 1),
    name,
    namespace,
    detached: lifetime === "detached",
    getIfExists: opts.getIfExists === true,
    checkpointEvery,
  };
}

/** Define an actor class (see remote()). */
export function defineActorClass<C extends ActorConstructor>(Cls: C, opts: ActorOptions): ActorClass<C> {
  const { methods, hasAsync } = methodNames(Cls);
  resolveActorOptions(opts, "remote() options", hasAsync, methods);
  const desc = defineRemoteTarget(Cls, "class");
  const make = (current: ActorOptions, optionsWhere: string): ActorClass<C> => {
    const where = `${desc.name}.remote()`;
    const r = resolveActorOptions(current, optionsWhere, hasAsync, methods);
    const ac = function actorClassUsedDirectly(): never {
      throw new TypeError(
        `${desc.name} is an actor class: create an actor with ${desc.name}.remote(...args) (not new ${desc.name}() or ${desc.name}())`,
      );
    };
    Object.defineProperty(ac, "name", { value: desc.name });
    Object.defineProperties(ac, {
      remote: {
        value: (...args: unknown[]) => {
          const cw = requireCoreWorker(where);
          return cw.createActor(desc, args, {
            demand: r.demand,
            ...(r.name !== undefined ? { name: r.name } : {}),
            namespace: r.namespace ?? currentNamespace(),
            detached: r.detached,
            getIfExists: r.getIfExists,
            maxRestarts: r.maxRestarts,
            maxTaskRetries: r.maxTaskRetries,
            maxConcurrency: r.maxConcurrency,
            className: desc.name,
            methods,
            ...(r.checkpointEvery ? { checkpointEvery: r.checkpointEvery } : {}),
            ...(r.strategy !== undefined ? { strategy: r.strategy } : {}),
            ...(r.labelSelector !== undefined ? { labelSelector: r.labelSelector } : {}),
          });
        },
      },
      options: {
        value: (o: ActorOptions) => {
          const optionsWhere = `${desc.name}.options()`;
          checkKeys(o, ACTOR_OPTION_KEYS, optionsWhere);
          return make({ ...current, ...o }, optionsWhere);
        },
      },
    });
    return ac as unknown as ActorClass<C>;
  };
  return make(opts, "remote() options");
}

/** The handle of the actor registered under `name` (in `namespace`, default the driver's). Rejects if there is none. */
export async function getActor<T = UntypedActor>(
  name: string,
  options: { namespace?: string } = {},
): Promise<ActorHandle<T>> {
  if (typeof name !== "string" || name.length === 0)
    throw new TypeError(`getActor(): name must be a non-empty string, got ${show(name)}`);
  checkKeys(options, ["namespace"], "getActor()");
  const namespace =
    optString(options as Record<string, unknown>, "namespace", "getActor()") ?? currentNamespace();
  const cw = requireCoreWorker("getActor()");
  const info = await cw.call({ t: Msg.GetNamedActor, name, namespace });
  return HandleClass.create(
    { actorId: info.actorId, className: info.className, methods: info.methods, owner: info.owner },
    cw.scope,
  ) as ActorHandle<T>;
}

/**
 * End an actor now: pending and later calls fail with ActorDiedError saying it was
 * killed. With `noRestart: false` a restartable actor restarts instead.
 */
export async function kill(handle: unknown, options: { noRestart?: boolean } = {}): Promise<void> {
  const state = handleState(handle);
  if (!state) throw new TypeError(`kill(): expected an actor handle, got ${show(handle)}`);
  checkKeys(options, ["noRestart"], "kill()");
  const noRestart = options.noRestart ?? true;
  if (typeof noRestart !== "boolean")
    throw new TypeError(`kill(): noRestart must be a boolean, got ${show(noRestart)}`);
  const cw = coreWorkerOf(handleScope(handle), "kill()");
  const reply = await cw.call({ t: Msg.KillActor, actorId: state.actorId, noRestart });
  if (reply.deathError) cw.actorDied(state.actorId, reply.deathError);
}

/** Every actor the control store knows: state, restarts, death cause. */
export async function listActors(): Promise<Omit<ActorInfo, "deathError">[]> {
  const all = await requireCoreWorker("listActors()").call({ t: Msg.ListActors });
  return all.map(({ deathError: _e, ...rest }) => rest);
}
