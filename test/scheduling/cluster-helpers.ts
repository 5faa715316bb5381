// Building cluster views for the placement policy tests, and carrying a decision out
// on a view (the grant taking the node's resources), as the node managers would.
import type { ClusterView, NodeView, PlacementDecision, ResourceMap } from "../../src/scheduling/index.js";

/** A node with `total`, of which `used` is taken (same names), alive unless told otherwise. */
export function node(
  nodeId: string,
  total: ResourceMap,
  used: ResourceMap = {},
  extra: Partial<Pick<NodeView, "labels" | "alive" | "draining">> = {},
): NodeView {
  const available: Record<string, number> = {};
  for (const [name, amount] of Object.entries(total)) available[name] = amount - (used[name] ?? 0);
  return { nodeId, total, available, labels: extra.labels ?? {}, alive: extra.alive ?? true, ...extra };
}

/** The node a local/spill decision names, from `local`'s point of view (undefined otherwise). */
export function chosen(d: PlacementDecision, local: string): string | undefined {
  return d.kind === "local" ? local : d.kind === "spill" ? d.nodeId : undefined;
}

/** A new view where the chosen node's availability is reduced by `demand` (unchanged for wait/infeasible). */
export function place(
  view: ClusterView,
  d: PlacementDecision,
  local: string,
  demand: ResourceMap,
): NodeView[] {
  const id = chosen(d, local);
  return view.map((n) => {
    if (n.nodeId !== id) return n;
    const available: Record<string, number> = { ...n.available };
    for (const [name, amount] of Object.entries(demand)) {
      // Integer units, as the ledger counts, so repeated 0.1s do not drift.
      available[name] = Math.round((available[name] ?? 0) * 10_000 - amount * 10_000) / 10_000;
    }
    return { ...n, available };
  });
}

/** The node id of each decision in turn, "wait" or "infeasible" for the others. */
export function label(d: PlacementDecision, local: string): string {
  return chosen(d, local) ?? d.kind;
}

/**
 * The run's seed: TSRAY_POLICY_SEED (a whole number from 0 to 2^32 - 1) replays a run,
 * else a fresh random one.
 */
export function policySeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.TSRAY_POLICY_SEED;
  if (raw === undefined || raw === "") return Math.floor(Math.random() * 2 ** 32);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) {
    throw new TypeError(
      `TSRAY_POLICY_SEED must be a whole number from 0 to 4294967295, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}
