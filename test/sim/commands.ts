// The commands a scenario may use. Each runs, lets the cluster settle at the current
// time (no fake time passes unless the command says so), and prints what it saw plus
// the cluster's events. Reference: docs/design/simulation.md.
import { type ActorHandle, handleState, type ObjectRef } from "../../src/core-worker/index.js";
import { MSG_NAMES, Msg } from "../../src/protocol/index.js";
import { shapeKey } from "../../src/scheduling/index.js";
import type { FrameInfo } from "../../src/transport/index.js";
import type { SimCluster, SimDriver } from "./cluster.js";
import { classDesc, functionDesc } from "./functions.js";

/** A parsed command line: positional words and `key=value` options. */
interface Args {
  readonly pos: string[];
  readonly opt: Map<string, string>;
}

function parse(line: string): { name: string; args: Args } {
  const words = line.split(/\s+/).filter(Boolean);
  const pos: string[] = [];
  const opt = new Map<string, string>();
  for (const w of words.slice(1)) {
    const eq = w.indexOf("=");
    if (eq > 0 && !w.startsWith("@") && !w.startsWith('"')) opt.set(w.slice(0, eq), w.slice(eq + 1));
    else pos.push(w);
  }
  return { name: words[0] ?? "", args: { pos, opt } };
}

function need(a: Args, i: number, what: string): string {
  const v = a.pos[i];
  if (v === undefined) throw new Error(`missing ${what}`);
  return v;
}

function num(a: Args, key: string, dflt: number): number {
  const v = a.opt.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${key}=${v} is not a number`);
  return n;
}

/** A scenario value: a number, true/false/null, "text", @ref or @handle of the driver, or a bare word (a string). */
function value(d: SimDriver, w: string): unknown {
  if (w.startsWith("[") && w.endsWith("]")) {
    const inner = w.slice(1, -1);
    return inner === "" ? [] : inner.split(",").map((x) => value(d, x));
  }
  if (w.startsWith("@")) {
    const name = w.slice(1);
    const v = d.refs.get(name) ?? d.handles.get(name);
    if (v === undefined) throw new Error(`driver ${d.name} has no ref or handle named ${name}`);
    return v;
  }
  if (w === "true" || w === "false") return w === "true";
  if (w === "null") return null;
  if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
  if (w.startsWith('"') && w.endsWith('"')) return w.slice(1, -1);
  return w;
}

function show(v: unknown): string {
  if (typeof v === "string")
    return v.length > 40 ? `"${v.slice(0, 12)}..." (${v.length} chars)` : JSON.stringify(v);
  if (v === undefined) return "undefined";
  if (Array.isArray(v)) return `[${v.map(show).join(", ")}]`;
  const hs = handleState(v);
  if (hs) return `handle ${hs.actorId}`;
  if (v !== null && typeof v === "object" && "id" in v && typeof (v as ObjectRef<unknown>).id === "string")
    return `ref ${(v as ObjectRef<unknown>).id}`;
  return JSON.stringify(v) ?? String(v);
}

function showError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  const first = String(e.message ?? err).split("\n")[0];
  return `${e.code ?? e.name ?? "Error"}: ${first}`;
}

function demandOf(a: Args): Record<string, number> {
  const demand: Record<string, number> = { CPU: num(a, "cpu", 1) };
  if (a.opt.has("gpu")) demand.GPU = num(a, "gpu", 0);
  for (const [k, v] of a.opt) if (k.startsWith("res:")) demand[k.slice(4)] = Number(v);
  return Object.fromEntries(Object.entries(demand).filter(([, v]) => v > 0));
}

type Command = (sim: SimCluster, a: Args) => Promise<string[]> | string[];

/** Let the cluster settle, unless the command says `settle=false` (to issue several at the same instant). */
async function settleUnless(sim: SimCluster, a: Args): Promise<void> {
  if (a.opt.get("settle") !== "false") await sim.stabilize();
}

/** Settle `p` on fake time (at most `maxMs`), then report its outcome. */
async function settle(sim: SimCluster, p: Promise<unknown>, maxMs: number): Promise<string> {
  let outcome: string | undefined;
  const watched = p.then(
    (v) => (outcome = `= ${show(v)}`),
    (e) => (outcome = `error ${showError(e)}`),
  );
  try {
    await sim.clock.until(watched, maxMs);
  } catch {
    /* not settled in time: reported as pending */
  }
  await sim.stabilize();
  return outcome ?? `pending after ${maxMs} ms`;
}

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
    const r = await d.cw.objects.put(v);
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
    return [`kill ${a.pos[1]} ${await settle(sim, p, 10_000)}`];
  },
  "kill-worker": async (sim, a) => {
    const w = sim.worker(need(a, 0, "worker id"));
    sim.crashWorker(w, null, "SIGKILL");
    await sim.stabilize();
    return [];
  },
  /** The driver shuts down cleanly (returns its leases, closes its connections), as shutdown() does. */
  "shutdown-driver": async (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    d.dead = true;
    d.cw.close();
    await sim.stabilize();
    return [];
  },
  "kill-driver": async (sim, a) => {
    sim.crashDriver(sim.driver(need(a, 0, "driver")));
    await sim.stabilize();
    return [];
  },
  /** Reset the links between two hosts now (both ends see the connection close), as a network reset would. */
  disconnect: async (sim, a) => {
    const n = sim.net.cut(hostOf(sim, need(a, 0, "host")), hostOf(sim, need(a, 1, "host")));
    await sim.stabilize();
    return [`reset ${n} link ends`];
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
      sim.net.drop((f: FrameInfo) => f.messages().some((m) => (m as { t?: number }).t === t));
    }
    return [];
  },
  /**
   * Hold back frames carrying a message of the kind named (and what follows them on the
   * same link direction) until `release-held`; `from=`/`to=` limit it to frames between those hosts.
   */
  hold: (sim, a) => {
    const t = kindOf(need(a, 0, "message kind"));
    const from = a.opt.has("from") ? hostOf(sim, a.opt.get("from")!) : undefined;
    const to = a.opt.has("to") ? hostOf(sim, a.opt.get("to")!) : undefined;
    sim.net.hold(
      (f) =>
        (from === undefined || f.from === from) &&
        (to === undefined || f.to === to) &&
        f.messages().some((m) => (m as { t?: number }).t === t),
    );
    return [];
  },
  "release-held": async (sim) => {
    const n = sim.net.release();
    await sim.stabilize();
    return [`released ${n} frames`];
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
  /** The driver's task submitter: per shape, queued task ids, lease requests (and those being cancelled), leases. */
  owner: (sim, a) => {
    const d = sim.driver(need(a, 0, "driver"));
    return d.cw
      .submitterState()
      .map(
        (s) =>
          `${s.shape}: queued [${s.queued.join(",")}] requests [${s.requests.join(",")}] ` +
          `cancelling [${s.cancelling.join(",")}] leases ${s.leases.map((l) => `${l.workerId}[${l.inflight.join(",")}]`).join(" ") || "none"}`,
      );
  },
  /** The node manager's lease queue: requests waiting for a grant, leases held. */
  leases: (sim, a) => {
    const c = sim.node(need(a, 0, "node")).nodeManager.leaseCounts();
    return [`pending ${c.pending} leases ${c.leases}`];
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

function kindOf(name: string): number {
  const t = [...MSG_NAMES].find(([, n]) => n === name)?.[0];
  if (t === undefined) throw new Error(`unknown message kind ${name}`);
  return t;
}

function actorIdOf(h: ActorHandle): string {
  const s = handleState(h);
  if (!s) throw new Error("not an actor handle");
  return s.actorId;
}

function fmt(m: Record<string, number>): string {
  return Object.entries(m)
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** A scenario's name for a host: a node name, `<node>/<worker or driver>`, or a driver name. */
function hostOf(sim: SimCluster, name: string): string {
  const d = sim.drivers.get(name);
  if (d) return `${d.node.name}/${d.name}`;
  const w = sim.workers.get(name);
  if (w) return `${w.node.name}/${w.id}`;
  return name;
}

/** Run one command line; returns its output lines followed by the events it caused. */
export async function runCommand(sim: SimCluster, line: string): Promise<string[]> {
  const { name, args } = parse(line);
  const cmd = commands[name];
  if (!cmd) throw new Error(`unknown command ${name}; commands: ${Object.keys(commands).join(", ")}`);
  const out = await cmd(sim, args);
  const events = sim.events.splice(0);
  return [...out, ...events.map((e) => `> ${e}`)];
}
