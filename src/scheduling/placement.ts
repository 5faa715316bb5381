// Cluster-level view over many nodes' totals: why a demand is infeasible. Choosing a node
// (spillback) comes with multi-node clusters; see docs/design/scheduling.md.
import { describeAmount, formatAmountOf, fromUnits, toUnits } from "./amounts.js";
import type { CompiledDemand, ResourceMap } from "./resource-map.js";
import { compileDemand } from "./resource-map.js";

function unitsOf(totals: ResourceMap, name: string): number {
  const amount = totals[name];
  return typeof amount === "number" && Number.isFinite(amount) && amount > 0 ? toUnits(name, amount) : 0;
}

function fitsTotals(c: CompiledDemand, totals: ResourceMap): boolean {
  for (let i = 0; i < c.names.length; i++) {
    if (c.units[i] > unitsOf(totals, c.names[i])) return false;
  }
  return true;
}

function describeDemand(c: CompiledDemand): string {
  return c.names.map((name, i) => describeAmount(name, fromUnits(name, c.units[i]))).join(", ");
}

/** Whether a node with these totals could ever run `demand` (all of it at once). @throws TypeError for an invalid demand. */
export function fitsTotal(demand: ResourceMap, totals: ResourceMap): boolean {
  return fitsTotals(compileDemand(demand), totals);
}

/**
 * Human text for why a demand can never be met by any of the given node totals, or null
 * when some node is feasible. One clause per missing resource, joined by "; ":
 * "needs 1 GPU, cluster has 0" when no node has any, "needs 4 CPU, the largest node has 2"
 * when none has enough; when each resource exists somewhere but never all on one node,
 * "needs 2 CPU, 1 GPU on one node, but no node has all of them"; with no nodes at all,
 * "needs 1 CPU, the cluster has no nodes".
 * @throws TypeError for an invalid demand.
 */
export function infeasibleReason(demand: ResourceMap, nodeTotals: readonly ResourceMap[]): string | null {
  const c = compileDemand(demand);
  if (nodeTotals.some((t) => fitsTotals(c, t))) return null;
  if (nodeTotals.length === 0) {
    return c.names.length === 0
      ? "the cluster has no nodes"
      : `needs ${describeDemand(c)}, the cluster has no nodes`;
  }
  const missing: string[] = [];
  for (let i = 0; i < c.names.length; i++) {
    const name = c.names[i];
    let max = 0;
    for (const t of nodeTotals) max = Math.max(max, unitsOf(t, name));
    if (max >= c.units[i]) continue;
    const needs = `needs ${describeAmount(name, fromUnits(name, c.units[i]))}`;
    missing.push(
      max === 0
        ? `${needs}, cluster has 0`
        : `${needs}, the largest node has ${formatAmountOf(name, fromUnits(name, max))}`,
    );
  }
  if (missing.length > 0) return missing.join("; ");
  return `needs ${describeDemand(c)} on one node, but no node has all of them`;
}
