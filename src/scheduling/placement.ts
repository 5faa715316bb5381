// Why a demand is infeasible: over many nodes' totals (the cluster) or on one node.
// Choosing a node is cluster-policy.ts; see docs/design/scheduling.md.
import { describeAmount, formatAmountOf, fromUnits, toUnits } from "./amounts.js";
import type { CompiledDemand, ResourceMap } from "./resource-map.js";
import { compileDemand } from "./resource-map.js";

/** Units of `name` in a node's totals; 0 when absent, not finite or not positive. */
export function unitsOf(totals: ResourceMap, name: string): number {
  const amount = totals[name];
  return typeof amount === "number" && Number.isFinite(amount) && amount > 0 ? toUnits(name, amount) : 0;
}

/** Could `c` ever fit a node with these totals? */
export function fitsTotals(c: CompiledDemand, totals: ResourceMap): boolean {
  for (let i = 0; i < c.names.length; i++) {
    if (c.units[i] > unitsOf(totals, c.names[i])) return false;
  }
  return true;
}

/** "2 CPU, 1 GPU": every amount of a compiled demand, in display order. */
export function describeDemand(c: CompiledDemand): string {
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

/**
 * Human text for why a demand can never fit one node's totals, or null when it can:
 * one clause per missing resource, joined by "; ", e.g. "needs 4 CPU, it has 2; needs
 * 1 GPU, it has 0".
 * @throws TypeError for an invalid demand.
 */
export function nodeShortfall(demand: ResourceMap, totals: ResourceMap): string | null {
  const c = compileDemand(demand);
  const missing: string[] = [];
  for (let i = 0; i < c.names.length; i++) {
    const name = c.names[i];
    const has = unitsOf(totals, name);
    if (has >= c.units[i]) continue;
    missing.push(
      `needs ${describeAmount(name, fromUnits(name, c.units[i]))}, it has ${formatAmountOf(name, fromUnits(name, has))}`,
    );
  }
  return missing.length === 0 ? null : missing.join("; ");
}
