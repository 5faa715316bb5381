// The words of a scenario command and how commands print what they see: shared by
// commands.ts and commands-more.ts.
import { type ActorHandle, handleState, type ObjectRef } from "../../src/core-worker/index.js";
import { MSG_NAMES } from "../../src/protocol/index.js";
import type { FrameInfo } from "../../src/transport/index.js";
import type { SimCluster, SimDriver } from "./cluster.js";

/** A parsed command line: positional words and `key=value` options. */
export interface Args {
  readonly pos: string[];
  readonly opt: Map<string, string>;
}

/** Split a command line into its name, positional words and `key=value` options. */
export function parse(line: string): { name: string; args: Args } {
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

/** Positional word `i`; throws naming `what` when it is missing. */
export function need(a: Args, i: number, what: string): string {
  const v = a.pos[i];
  if (v === undefined) throw new Error(`missing ${what}`);
  return v;
}

/** Option `key` as a number (`dflt` when absent); throws naming the option when it is not a number. */
export function num(a: Args, key: string, dflt: number): number {
  const v = a.opt.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${key}=${v} is not a number`);
  return n;
}

/**
 * A scenario value: a number, true/false/null, "text", @ref or @handle of the driver,
 * `[v,v,...]` (an array of such values, without spaces: refs in it travel nested, as
 * refs), or a bare word (a string).
 */
export function value(d: SimDriver, w: string): unknown {
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

/** How a command prints a value (long strings shortened, refs by id). */
export function show(v: unknown): string {
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

/** How a command prints an error: its stable code (or name) and the first line of its message. */
export function showError(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  const first = String(e.message ?? err).split("\n")[0];
  return `${e.code ?? e.name ?? "Error"}: ${first}`;
}

/** The resource demand of `cpu=`, `gpu=` and `res:NAME=` options (zero amounts left out). */
export function demandOf(a: Args): Record<string, number> {
  const demand: Record<string, number> = { CPU: num(a, "cpu", 1) };
  if (a.opt.has("gpu")) demand.GPU = num(a, "gpu", 0);
  for (const [k, v] of a.opt) if (k.startsWith("res:")) demand[k.slice(4)] = Number(v);
  return Object.fromEntries(Object.entries(demand).filter(([, v]) => v > 0));
}

/** A command: runs against the cluster, returns the lines it prints. */
export type Command = (sim: SimCluster, a: Args) => Promise<string[]> | string[];

/** Settle `p` on fake time (at most `maxMs`), then report its outcome. */
export async function settle(sim: SimCluster, p: Promise<unknown>, maxMs: number): Promise<string> {
  let outcome: string | undefined;
  const watched = p.then(
    (v) => (outcome = `= ${show(v)}`),
    (e) => (outcome = `error ${showError(e)}`),
  );
  try {
    await sim.until(watched, maxMs);
  } catch {
    /* not settled in time: reported as pending */
  }
  await sim.stabilize();
  return outcome ?? `pending after ${maxMs} ms`;
}

/** The actor id behind a handle; throws when it is not one. */
export function actorIdOf(h: ActorHandle): string {
  const s = handleState(h);
  if (!s) throw new Error("not an actor handle");
  return s.actorId;
}

/** Let the cluster settle, unless the command says `settle=false` (to issue several at the same instant). */
export async function settleUnless(sim: SimCluster, a: Args): Promise<void> {
  if (a.opt.get("settle") !== "false") await sim.stabilize();
}

/** A scenario's name for a host: a node name, `<node>/<worker or driver>`, or a driver name. */
export function hostOf(sim: SimCluster, name: string): string {
  const d = sim.drivers.get(name);
  if (d) return `${d.node.name}/${d.name}`;
  const w = sim.workers.get(name);
  if (w) return `${w.node.name}/${w.id}`;
  return name;
}

/** The message kind named (e.g. `TaskDone`); throws for an unknown name. */
export function kindOf(name: string): number {
  const t = [...MSG_NAMES].find(([, n]) => n === name)?.[0];
  if (t === undefined) throw new Error(`unknown message kind ${name}`);
  return t;
}

/** Whether a frame carries a message of kind `t`. */
export function carries(frame: FrameInfo, t: number): boolean {
  return frame.messages().some((m) => (m as { t?: number }).t === t);
}
