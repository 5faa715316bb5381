// More scenario commands (wait, gc, store, get-actor, borrow), in the style of commands.ts: each
// lets the cluster settle at the current time and prints what it saw. Kept apart so
// commands.ts stays small; runCommand looks names up in both tables.
import { ActorHandle, type ObjectRef } from "../../src/core-worker/index.js";
import { Msg } from "../../src/protocol/index.js";
import { collectAndSettle } from "../../src/util/index.js";
import type { SimDriver } from "./cluster.js";
import { type Args, type Command, need, num, settle, showError } from "./command-args.js";

function refNamed(d: SimDriver, name: string): ObjectRef<unknown> {
  const r = d.refs.get(name);
  if (!r) throw new Error(`driver ${d.name} has no ref ${name}; refs: ${[...d.refs.keys()].join(", ")}`);
  return r;
}

function isRef(v: unknown): v is ObjectRef<unknown> {
  return v !== null && typeof v === "object" && "id" in v && "release" in v;
}

function waitArgs(a: Args): { timeout: number | undefined; numReturns: number } {
  return {
    timeout: a.opt.has("timeout") ? num(a, "timeout", 0) : undefined,
    numReturns: num(a, "num", 1),
  };
}

/** Commands by name; see each one's comment for its words and what it prints. */
export const moreCommands: Record<string, Command> = {
  /**
   * `wait <driver> <ref>... [num=N] [timeout=MS] [wait=MS]`: ray.wait for N of the refs
   * (default 1); prints `ready: ...; not ready: ...` by ref name in input order, or
   * `pending after` when it has not returned within `wait` ms of fake time (default 60 s).
   */
  wait: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const names = a.pos.slice(1);
    if (names.length === 0) throw new Error("wait: name at least one ref");
    const refs = names.map((n) => refNamed(d, n));
    const { timeout, numReturns } = waitArgs(a);
    const nameOf = new Map(refs.map((r, k) => [r.id, names[k]!]));
    let printed: string | undefined;
    const p = d.cw.objects.wait(refs, numReturns, timeout).then(([ready, notReady]) => {
      const list = (rs: ObjectRef<unknown>[]) => rs.map((r) => nameOf.get(r.id)).join(" ") || "-";
      printed = `ready: ${list(ready)}; not ready: ${list(notReady)}`;
    });
    const outcome = await settle(sim, p, num(a, "wait", 60_000));
    return [printed ?? `wait ${outcome}`];
  },
  /**
   * `gc`: a full garbage collection now, then the cluster settles. Refs and values a
   * scenario dropped without `release` (a value printed by `get`, a worker's argument)
   * are released by finalizers only after a collection, and V8 collects when it likes:
   * run `gc` before printing counts that depend on such refs, so the output does not.
   */
  gc: async (sim) => {
    await collectAndSettle();
    await sim.stabilize();
    return [];
  },
  /**
   * `store <node>`: the node's shared-memory object store, from its own bookkeeping:
   * objects in memory and their bytes, how many are pinned, how many are spilled.
   */
  store: (sim, a) => {
    const n = sim.node(need(a, 0, "node"));
    const s = n.nodeManager.objectStore.stats(n.name);
    return [
      `objects=${s.numObjects} bytes=${s.objectBytes} pinned=${s.pinnedObjects}` +
        ` spilled=${s.spilledObjects} spilled-total=${s.spilledObjectsTotal} restored-total=${s.restoredObjectsTotal}`,
    ];
  },
  /**
   * `get-actor <driver> <handle> name=NAME [ns=NAMESPACE]`: look a named actor up in the
   * control store (GetNamedActor, as getActor() does) and bind its handle; prints
   * `<handle>: actor <id>` or the error the lookup failed with.
   */
  "get-actor": async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const handle = need(a, 1, "handle name");
    const name = a.opt.get("name");
    if (!name) throw new Error("get-actor: name=NAME is required");
    const p = d.cw
      .controlStore()
      .request({ t: Msg.GetNamedActor, name, namespace: a.opt.get("ns") ?? "default" });
    let line: string | undefined;
    const watched = p.then(
      (info) => {
        const h = ActorHandle.create(
          { actorId: info.actorId, className: info.className, methods: info.methods, owner: info.owner },
          d.cw.scope,
        );
        d.handles.set(handle, h);
        line = `${handle}: actor ${info.actorId}`;
      },
      (err: unknown) => {
        line = `${handle} error ${showError(err)}`;
      },
    );
    const outcome = await settle(sim, watched, 10_000);
    return [line ?? `${handle} ${outcome}`];
  },
  /**
   * `borrow <driver> <ref> <name> [at=K]`: get `ref`'s value, which must be a ref or an
   * array whose element K (default 0) is one, and bind that inner ref as `name` (the
   * driver then borrows it). Prints `<name>: <id>` or why it could not.
   */
  borrow: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const outer = refNamed(d, need(a, 1, "ref name"));
    const name = need(a, 2, "new ref name");
    let line: string | undefined;
    const p = d.cw.objects.get([outer]).then(
      ([v]) => {
        const inner = Array.isArray(v) ? v[num(a, "at", 0)] : v;
        if (!isRef(inner)) {
          line = `${name}: the value of ${a.pos[1]} holds no ref`;
          return;
        }
        d.refs.set(name, inner);
        line = `${name}: ${inner.id}`;
      },
      (err: unknown) => {
        line = `${name} error ${showError(err)}`;
      },
    );
    const outcome = await settle(sim, p, num(a, "wait", 60_000));
    return [line ?? `${name} ${outcome}`];
  },
};
