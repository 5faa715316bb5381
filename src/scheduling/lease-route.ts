// Where a node manager sends one lease request (or the head one actor): the cluster
// policy's decision turned into an action, with spillback that never ping-pongs.
// Pure: view in, route out. See "Cluster placement" in docs/design/scheduling.md.
import type { ClusterPolicy, PlacementRequest } from "./cluster-policy.js";
import type { ClusterView, LabelSelector, NodeView, SchedulingStrategy } from "./cluster-view.js";
import { hasSelector, labelMatcher } from "./cluster-view.js";
import { fitsTotals, nodeShortfall } from "./placement.js";
import { compileDemand } from "./resource-map.js";

/** A placement request as a node manager receives it. */
export interface RouteRequest extends PlacementRequest {
  /**
   * Sent here by another node's spillback: this node grants or queues it (or fails it
   * when it can never fit it) and never spills it again, so a request makes at most one hop.
   */
  readonly spilled?: boolean;
}

/**
 * What to do with a request. `local`: grant or queue it here. `spill`: answer with
 * `nodeId` (never the local node), where the owner asks again with `spilled` set.
 * `infeasible`: no live node can ever run it; `reason` says what is missing.
 */
export type LeaseRoute =
  | { readonly kind: "local" }
  | { readonly kind: "spill"; readonly nodeId: string }
  | { readonly kind: "infeasible"; readonly reason: string };

const LOCAL: LeaseRoute = Object.freeze({ kind: "local" });

/**
 * Routes one request from `localNodeId`'s point of view. A `spilled` request stays
 * here when this node's totals fit it (else `infeasible`: the spilling node's view was
 * wrong). Otherwise {@link ClusterPolicy.chooseNode} decides; its `wait` (no node has
 * room now) becomes a queue on a node that could run it: the hard affinity's node,
 * else this node when it is a candidate, else the feasible candidate of least
 * utilization (smallest id on a tie), whose own queue then holds it.
 * @throws TypeError for an invalid demand.
 */
export function routeLease(
  policy: ClusterPolicy,
  request: RouteRequest,
  view: ClusterView,
  localNodeId: string,
  rng?: () => number,
): LeaseRoute {
  const c = compileDemand(request.demand);
  const local = view.find((n) => n.nodeId === localNodeId);
  if (request.spilled === true) {
    if (local !== undefined && fitsTotals(c, local.total)) return LOCAL;
    const why = local === undefined ? "it is not in its own view" : nodeShortfall(c.normalized, local.total);
    return Object.freeze({
      kind: "infeasible",
      reason: `node ${JSON.stringify(localNodeId)} was chosen for it by spillback but can never fit it: ${why}`,
    });
  }
  const d = policy.chooseNode(request, view, localNodeId, rng);
  if (d.kind !== "wait") return d;
  const strategy = request.strategy;
  const target =
    typeof strategy === "object" && !strategy.soft ? strategy.nodeId : queueNode(request, view, localNodeId);
  return target === localNodeId ? LOCAL : Object.freeze({ kind: "spill", nodeId: target });
}

/** Where a request that must wait queues: the local node if it could run it, else the least loaded feasible candidate. */
function queueNode(request: PlacementRequest, view: ClusterView, localNodeId: string): string {
  const c = compileDemand(request.demand);
  const matches = labelMatcher(request.labelSelector);
  const usable = (n: NodeView) =>
    n.alive && n.draining !== true && matches(n.labels) && fitsTotals(c, n.total);
  const pool = view.filter(usable);
  if (pool.some((n) => n.nodeId === localNodeId)) return localNodeId;
  let best: NodeView | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const n of pool) {
    const load = cpuLoad(n);
    if (load < bestLoad || (load === bestLoad && best !== undefined && n.nodeId < best.nodeId)) {
      best = n;
      bestLoad = load;
    }
  }
  // chooseNode said wait, so some candidate is feasible; the local id is a safe fallback.
  return best?.nodeId ?? localNodeId;
}

function cpuLoad(n: NodeView): number {
  const total = n.total.CPU ?? 0;
  if (!(total > 0)) return 0;
  return (total - (n.available.CPU ?? 0)) / total;
}

/**
 * The part of a submission's grouping key that its placement adds: "" for DEFAULT with
 * no label selector, else e.g. `|SPREAD`, `|node=ab12`, `|node~ab12` (soft) and
 * `|labels={"zone":"a"}`. Work with different placements never shares a lease.
 */
export function placementKey(strategy: SchedulingStrategy | undefined, selector?: LabelSelector): string {
  let key = "";
  if (strategy === "SPREAD") key = "|SPREAD";
  else if (typeof strategy === "object") key = `|node${strategy.soft ? "~" : "="}${strategy.nodeId}`;
  if (hasSelector(selector)) key += `|labels=${JSON.stringify(selector)}`;
  return key;
}
