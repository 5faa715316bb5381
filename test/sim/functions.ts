// The remote functions and actor classes scenarios run. Defined once, in this module,
// so every simulated worker (all in this process) finds them by descriptor as a real
// worker finds them by importing the module. They wait only on the simulation's
// fake clock, so their timing is deterministic.
import { defineRemoteTarget } from "../../src/code-loading/index.js";
import type { FunctionDescriptor } from "../../src/protocol/index.js";
import type { Clock } from "../../src/util/index.js";

/** The running simulation's clock (one simulation runs at a time in a process). */
export const simTime: { clock: Clock | undefined } = { clock: undefined };

function sleep(ms: number): Promise<void> {
  const clock = simTime.clock;
  if (!clock) throw new Error("no simulation is running");
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** A task that never finishes (until its worker is killed). */
const hanging = new Set<() => void>();
/** Attempts per key of `flaky` and `hangOnce` (every simulated worker shares this module). */
const attempts = new Map<string, number>();

function attempt(key: string): number {
  const n = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, n);
  return n;
}

/** Remote functions by the name a scenario's `submit` uses. */
const fns: Record<string, Function> = {
  add: (a: number, b: number) => a + b,
  echo: (x: unknown) => x,
  /** Sleeps `ms` of simulated time, then returns `value`. */
  sleep: async (ms: number, value: unknown) => {
    await sleep(ms);
    return value;
  },
  /** Throws an application error (a RayTaskError at the caller). */
  fail: (message: string) => {
    throw new Error(message);
  },
  /** Never returns: the scenario kills its worker. */
  hang: () => new Promise<void>((resolve) => hanging.add(resolve)),
  /** The sum of its arguments' values (refs as arguments are resolved first). */
  sum: (...xs: number[]) => xs.reduce((a, b) => a + b, 0),
  /** A big string (stored in the node's object store, not inline). */
  big: (n: number) => "x".repeat(n),
  len: (s: string) => s.length,
  /** Calls `incr` on the actor handle it is given (nested: it arrives as a handle) and returns the call's ref nested. */
  poke: (hs: Array<{ incr: { remote(by: number): unknown } }>) => [hs[0]!.incr.remote(1)],
  /** Its arguments as an array: with `returns=N`, one return per argument. */
  tuple: (...xs: unknown[]) => xs,
  /** Calls `method` of the actor behind `handle` from inside a task; returns the call's ref (the caller borrows it). */
  callActor: (
    handle: Record<string, { remote(...a: unknown[]): unknown }>,
    method: string,
    ...args: unknown[]
  ) => handle[method]!.remote(...args),
  /** Throws for the first `failures` attempts under `key`, then returns `value`. */
  flaky: (key: string, failures: number, value: unknown) => {
    const n = attempt(key);
    if (n <= failures) throw new Error(`${key} attempt ${n} failed`);
    return value;
  },
  /** Never returns on its first attempt under `key` (the scenario kills its worker); later attempts return `value`. */
  hangOnce: (key: string, value: unknown) =>
    attempt(key) === 1 ? new Promise<void>((resolve) => hanging.add(resolve)) : value,
};

/** Counts; used for restart and ordering scenarios. */
class Counter {
  n: number;
  constructor(start = 0) {
    this.n = start;
  }
  incr(by = 1): number {
    this.n += by;
    return this.n;
  }
  get(): number {
    return this.n;
  }
  async slowIncr(ms: number): Promise<number> {
    await sleep(ms);
    return ++this.n;
  }
  hang(): Promise<void> {
    return new Promise<void>((resolve) => hanging.add(resolve));
  }
  fail(message: string): never {
    throw new Error(message);
  }
}

/** A Counter that checkpoints its count (restored after a restart; later calls are replayed). */
class Checkpointed extends Counter {
  saveCheckpoint(): number {
    return this.n;
  }
  restoreCheckpoint(n: number): void {
    this.n = n;
  }
}

/** Keeps refs it is given, to test borrowing through an actor. */
class Holder {
  held: unknown[] = [];
  hold(x: unknown): number {
    this.held.push(x);
    return this.held.length;
  }
  drop(): number {
    const n = this.held.length;
    this.held = [];
    return n;
  }
  /** Returns a held value back (nested: the caller borrows it). */
  give(): unknown {
    return this.held[0];
  }
}

/** A constructor that throws. */
class Broken {
  constructor() {
    throw new Error("constructor failed");
  }
  ping(): string {
    return "pong";
  }
}

const classes: Record<string, Function> = { Counter, Checkpointed, Holder, Broken };

const functionDescs = new Map<string, FunctionDescriptor>();
for (const [name, fn] of Object.entries(fns)) {
  Object.defineProperty(fn, "name", { value: name });
  functionDescs.set(name, defineRemoteTarget(fn, "function"));
}
const classDescs = new Map<string, { desc: FunctionDescriptor; methods: string[] }>();
for (const [name, cls] of Object.entries(classes)) {
  const methods: string[] = [];
  for (let p = cls.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const m of Object.getOwnPropertyNames(p))
      if (m !== "constructor" && !methods.includes(m)) methods.push(m);
  }
  classDescs.set(name, { desc: defineRemoteTarget(cls, "class"), methods });
}

/** The descriptor of remote function `name`; throws naming the valid ones. */
export function functionDesc(name: string): FunctionDescriptor {
  const d = functionDescs.get(name);
  if (!d) throw new Error(`unknown function ${name}; known: ${[...functionDescs.keys()].join(", ")}`);
  return d;
}

/** The descriptor and methods of actor class `name`; throws naming the valid ones. */
export function classDesc(name: string): { desc: FunctionDescriptor; methods: string[] } {
  const d = classDescs.get(name);
  if (!d) throw new Error(`unknown class ${name}; known: ${[...classDescs.keys()].join(", ")}`);
  return d;
}

/** Forget hanging tasks and attempt counts (between simulations). */
export function resetFunctions(): void {
  hanging.clear();
  attempts.clear();
}
