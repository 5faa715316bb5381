// The commands a scenario may use. Each runs, lets the cluster settle at the current
// time (no fake time passes unless the command says so), and prints what it saw plus
// the cluster's events. Reference: docs/design/simulation.md.
import { type ActorHandle, handleState, type ObjectRef } from "../../src/core-worker/index.js";
import { Msg } from "../../src/protocol/index.js";
import { shapeKey } from "../../src/scheduling/index.js";
import { errorCodec } from "../../src/serialization/index.js";
import type { SimCluster } from "./cluster.js";
import {
  actorIdOf,
  type Command,
  carries,
  demandOf,
  hostOf,
  kindOf,
  need,
  num,
  parse,
  settle,
  settleUnless,
  showError,
  value,
} from "./command-args.js";
import { moreCommands } from "./commands-more.js";
import { netCommands } from "./commands-net.js";
import { classDesc, functionDesc } from "./functions.js";

const commands: Record<string, Command> = {
  "add-node": async (sim, a) => {
    const name = need(a, 0, "node name");
    const resources: Record<string, number> = { CPU: num(a, "cpu", 1) };
    if (a.opt.has("gpu")) resources.GPU = num(a, "gpu", 0);
    for (const [k, v] of a.opt) if (k.startsWith("res:")) resources[k.slice(4)] = Number(v);
    const n = await sim.addNode(name, resources, num(a, "store", 1 << 20));
    await sim.stabilize();
    return [`node ${name} at ${n.address}${n.worker ? "" : " (head)"}`];
  },
  "add-driver": async (sim, a) => {
    const name = need(a, 0, "driver name");
    const d = await sim.addDriver(
      name,
      a.opt.get("node") ?? [...sim.nodes.keys()][0]!,
      a.opt.get("ns") ?? "default",
    );
    await sim.stabilize();
    return [`driver ${name} on ${d.node.name}: job ${d.cw.jobId}`];
  },
  submit: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const ref = need(a, 1, "ref name");
    const fn = need(a, 2, "function");
    const demand = demandOf(a);
    const n = num(a, "returns", 1);
    const refs = d.cw.submitTask(
      functionDesc(fn),
      a.pos.slice(3).map((w) => value(d, w)),
      {
        demand,
        shapeKey: shapeKey(demand),
        numReturns: n,
        maxRetries: num(a, "retries", 3),
        retryExceptions: a.opt.get("retry-exceptions") === "true",
      },
      fn,
    );
    if (n === 1) d.refs.set(ref, refs[0]!);
    else for (const [k, r] of refs.entries()) d.refs.set(`${ref}.${k}`, r);
    await settleUnless(sim, a);
    return [`${ref}: ${refs.map((r) => r.id).join(", ")}`];
  },
  put: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const ref = need(a, 1, "ref name");
    const v = a.opt.has("chars") ? "y".repeat(num(a, "chars", 0)) : value(d, need(a, 2, "value"));
    // A large value is written into the store over the network: it settles on fake time.
    const r = await sim.until(Promise.resolve(d.cw.objects.put(v)), 10_000);
    d.refs.set(ref, r);
    await sim.stabilize();
    return [`${ref}: ${r.id}`];
  },
  get: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const name = need(a, 1, "ref name");
    const ref = d.refs.get(name);
    if (!ref) throw new Error(`driver ${d.name} has no ref ${name}`);
    const timeout = a.opt.has("timeout") ? num(a, "timeout", 0) : undefined;
    const bind = a.opt.get("bind");
    const p = d.cw.objects.get([ref], timeout).then((vs) => {
      // bind=NAME: refs and handles in the value become NAME.0, NAME.1, ... of the driver.
      if (bind !== undefined && Array.isArray(vs[0])) {
        for (const [k, x] of (vs[0] as unknown[]).entries()) {
          if (handleState(x)) d.handles.set(`${bind}.${k}`, x as ActorHandle);
          else d.refs.set(`${bind}.${k}`, x as ObjectRef<unknown>);
        }
      }
      return vs[0];
    });
    return [`${name} ${await settle(sim, p, num(a, "wait", 60_000))}`];
  },
  release: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    for (const name of a.pos.slice(1)) {
      const r = d.refs.get(name);
      if (!r) throw new Error(`driver ${d.name} has no ref ${name}`);
      r.release();
      d.refs.delete(name);
    }
    await sim.stabilize();
    return [];
  },
  cancel: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const ref = d.refs.get(need(a, 1, "ref name"));
    if (!ref) throw new Error("no such ref");
    const ok = d.cw.cancel(ref, a.pos[2] === "force");
    await sim.stabilize();
    return [`cancel ${a.pos[1]}: ${ok}`];
  },
  actor: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const name = need(a, 1, "handle name");
    const cls = classDesc(need(a, 2, "class"));
    const opts = {
      demand: demandOf({ pos: a.pos, opt: new Map([["cpu", a.opt.get("cpu") ?? "0"], ...a.opt]) }),
      name: a.opt.get("name"),
      namespace: a.opt.get("ns") ?? "default",
      detached: a.pos.includes("detached"),
      getIfExists: a.pos.includes("get-if-exists"),
      maxRestarts: num(a, "restarts", 0),
      maxTaskRetries: num(a, "retries", 0),
      maxConcurrency: num(a, "concurrency", 1),
      className: a.pos[2]!,
      methods: cls.methods,
      checkpointEvery: a.opt.has("checkpoint-calls") ? { calls: num(a, "checkpoint-calls", 1) } : undefined,
    };
    const args = a.pos.slice(3).filter((w) => w !== "detached" && w !== "get-if-exists");
    const h = d.cw.createActor(
      cls.desc,
      args.map((w) => value(d, w)),
      opts,
    );
    d.handles.set(name, h);
    await sim.stabilize();
    return [`${name}: actor ${actorIdOf(h)}`];
  },
  call: async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const h = d.handles.get(need(a, 1, "handle"));
    if (!h) throw new Error(`driver ${d.name} has no handle ${a.pos[1]}`);
    const method = need(a, 2, "method");
    const ref = need(a, 3, "ref name");
    const m = (h as unknown as Record<string, { remote(...x: unknown[]): ObjectRef<unknown> }>)[method]!;
    const r = m.remote(...a.pos.slice(4).map((w) => value(d, w)));
    d.refs.set(ref, r);
    await settleUnless(sim, a);
    return [`${ref}: ${r.id}`];
  },
  "kill-actor": async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    const h = d.handles.get(need(a, 1, "handle"));
    if (!h) throw new Error("no such handle");
    const p = d.cw.controlStore().request({
      t: Msg.KillActor,
      actorId: actorIdOf(h),
      noRestart: !a.pos.includes("restart"),
      cause: "killed by the scenario",
    });
    // The reply's deathError is an encoded error (bytes with a stack in them): print what it says.
    let dead: string | undefined;
    const shown = p.then((r) => {
      if (r.deathError) dead = showError(errorCodec.decode(r.deathError));
      return r.deathError ? undefined : r;
    });
    const outcome = await settle(sim, shown, 10_000);
    return [`kill ${a.pos[1]} ${dead ? `= dead (${dead})` : outcome}`];
  },
  "kill-worker": async (sim, a) => {
    const w = sim.worker(need(a, 0, "worker id"));
    sim.crashWorker(w, null, "SIGKILL");
    await sim.stabilize();
    return [];
  },
  "kill-driver": async (sim, a) => {
    sim.crashDriver(sim.driver(need(a, 0, "driver")));
    await sim.stabilize();
    return [];
  },
  partition: async (sim, a) => {
    sim.net.partition(hostOf(sim, need(a, 0, "host")), hostOf(sim, need(a, 1, "host")));
    await sim.stabilize();
    return [];
  },
  heal: async (sim, a) => {
    if (a.pos.length >= 2) sim.net.heal(hostOf(sim, a.pos[0]!), hostOf(sim, a.pos[1]!));
    else sim.net.heal();
    await sim.stabilize();
    return [];
  },
  /** Lose every frame that carries a message of the kind named (e.g. `drop TaskDone`); `drop none` stops. */
  drop: async (sim, a) => {
    const kind = need(a, 0, "message kind");
    if (kind === "none") sim.net.drop(undefined);
    else {
      const t = kindOf(kind);
      sim.net.drop((f) => carries(f, t));
    }
    return [];
  },
  tick: async (sim, a) => {
    const ms = Number(need(a, 0, "duration").replace(/ms$/, ""));
    await sim.clock.advance(ms);
    await sim.stabilize();
    return [];
  },
  stabilize: async (sim) => {
    await sim.stabilize();
    return [];
  },
  nodes: (sim) =>
    sim
      .head!.store.listNodes()
      .map((n) => `${n.nodeId} ${n.alive ? "alive" : "dead"}${n.isHead ? " head" : ""} ${fmt(n.total)}`),
  resources: (sim) => {
    const r = sim.head!.store.clusterResources();
    return [`total ${fmt(r.total)}`, `available ${fmt(r.available)}`];
  },
  workers: (sim, a) => {
    const n = sim.node(need(a, 0, "node"));
    const v = n.nodeManager.view();
    return [`available ${fmt(v.available)}`, ...v.workers.map((w) => `${w.workerId} ${w.state}`)];
  },
  actors: async (sim) =>
    sim.head!.store.actors!.list().map((i) => {
      const why = i.deathCause ? ` (${i.deathCause})` : "";
      const at = i.address ? ` at ${i.address}` : "";
      return `${i.actorId} ${i.className} ${i.state}${at} restarts=${i.restarts}${why}`;
    }),
  refs: (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    return d.cw.objects
      .memoryInfo()
      .map(
        (o) =>
          `${o.id} ${o.state} local=${o.localRefs} lent=${o.lent} pins=${o.pins}` +
          (o.borrowers.length ? ` borrowers=${o.borrowers.join(",")}` : ""),
      );
  },
};

function fmt(m: Record<string, number>): string {
  return Object.entries(m)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** Run one command line; returns its output lines followed by the events it caused. */
export async function runCommand(sim: SimCluster, line: string): Promise<string[]> {
  const { name, args } = parse(line);
  const cmd = commands[name] ?? moreCommands[name] ?? netCommands[name];
  if (!cmd) {
    const known = [...Object.keys(commands), ...Object.keys(moreCommands), ...Object.keys(netCommands)];
    throw new Error(`unknown command ${name}; commands: ${known.join(", ")}`);
  }
  const out = await cmd(sim, args);
  const events = sim.events.splice(0);
  return [...out, ...events.map((e) => `> ${e}`)];
}
