// Cluster placement: which node a lease request should run on, given every node's last
// reported totals and availability. Pure: view in, decision out (Ray's hybrid, spread
// and node-affinity policies). See "Cluster placement" in docs/design/scheduling.md.
import { describeValue, toUnits } from "./amounts.js";
import type { ClusterView, LabelSelector, NodeView, SchedulingStrategy } from "./cluster-view.js";
import { hasSelector, labelMatcher } from "./cluster-view.js";
import { describeDemand, fitsTotals, infeasibleReason, nodeShortfall, unitsOf } from "./placement.js";
import type { CompiledDemand, ResourceMap } from "./resource-map.js";
import { compileDemand } from "./resource-map.js";

/** Ray's `scheduler_spread_threshold`: DEFAULT packs the local node up to this utilization. */
export const DEFAULT_SPREAD_THRESHOLD = 0.5;

/**
 * What to place. `strategy` (default "DEFAULT") and `labelSelector` are taken as already
 * checked by {@link validateSchedulingStrategy} / {@link validateLabelSelector}.
 */
export interface PlacementRequest {
  readonly demand: ResourceMap;
  readonly strategy?: SchedulingStrategy;
  readonly labelSelector?: LabelSelector;
}

/**
 * The policy's answer. `local`: run here (the node's own grant queue). `spill`: lease
 * from `nodeId` instead (never the local node). `wait`: some node could fit it but none
 * has room now; keep it queued and ask again when resources or the view change.
 * `infeasible`: no live node can ever fit it; `reason` says what is missing.
 */
export type PlacementDecision =
  | { readonly kind: "local" }
  | { readonly kind: "spill"; readonly nodeId: string }
  | { readonly kind: "wait" }
  | { readonly kind: "infeasible"; readonly reason: string };

/** Knobs for one {@link chooseNode} call. */
export interface ChooseOptions {
  /** Uniform floats in [0, 1) to break ties (seeded in tests); without it, the smallest node id wins. */
  readonly rng?: () => number;
  /** From 0 to 1; default {@link DEFAULT_SPREAD_THRESHOLD}. */
  readonly spreadThreshold?: number;
  /** SPREAD's round-robin cursor: the node the previous SPREAD decision chose. */
  readonly spreadAfter?: string;
}

const LOCAL: PlacementDecision = Object.freeze({ kind: "local" });
const WAIT: PlacementDecision = Object.freeze({ kind: "wait" });

interface Ctx {
  readonly c: CompiledDemand;
  readonly view: ClusterView;
  readonly localNodeId: string;
  readonly matches: (labels: NodeView["labels"]) => boolean;
  readonly selector: LabelSelector | undefined;
  readonly options: ChooseOptions;
  readonly threshold: number;
}

/**
 * Chooses where a request runs, from the local node `localNodeId`'s point of view.
 * Only live, not draining nodes matching the label selector are candidates; of those,
 * a node is feasible when its totals fit the demand and has room when its availability
 * does (aggregate amounts: the chosen node's own ledger stays the authority).
 * - DEFAULT: the local node when it has room and its {@link utilizationAfter} stays at or
 *   under the threshold; else the node with room of least utilization after placing
 *   (local wins a tie, then `rng` or the smallest id).
 * - SPREAD: with a cursor, the first node with room whose id sorts after it (wrapping);
 *   without one, the least utilized node with room (ties as DEFAULT breaks them).
 * - Hard affinity: the named node if it has room, `wait` if it is usable but full, else
 *   `infeasible` naming it (unknown, dead, draining, not matching the selector, too small).
 *   Soft affinity: the named node if usable with room, else DEFAULT.
 * Decisions depend on the view's contents, not its order.
 * @throws TypeError for an invalid demand or spreadThreshold.
 */
export function chooseNode(
  request: PlacementRequest,
  view: ClusterView,
  localNodeId: string,
  options: ChooseOptions = {},
): PlacementDecision {
  const ctx: Ctx = {
    c: compileDemand(request.demand),
    view,
    localNodeId,
    matches: labelMatcher(request.labelSelector),
    selector: request.labelSelector,
    options,
    threshold: checkThreshold("chooseNode()", options.spreadThreshold),
  };
  const strategy = request.strategy ?? "DEFAULT";
  if (typeof strategy === "object") {
    const pinned = affinity(ctx, strategy.nodeId, strategy.soft);
    if (pinned !== undefined) return pinned;
  }
  const room = nodesWithRoom(ctx);
  if (!Array.isArray(room)) return room;
  if (strategy !== "SPREAD") return hybrid(ctx, room);
  return options.spreadAfter === undefined ? leastUtilized(ctx, room) : roundRobin(ctx, room);
}

/**
 * Utilization of a node after placing `demand` on it: the largest share, over the
 * resource kinds the demand asks for, of (total - available + demand) / total, with
 * every amount in integer units so fractions never drift. 0 for an empty demand; may
 * exceed 1 when the demand does not fit; Infinity when a requested kind has no total.
 * @throws TypeError for an invalid demand.
 */
export function utilizationAfter(demand: ResourceMap, node: Pick<NodeView, "total" | "available">): number {
  return utilization(compileDemand(demand), node);
}

/**
 * {@link chooseNode} with a configured threshold and SPREAD's round-robin cursor kept
 * between calls (moved only by SPREAD decisions that pick a node). Pure state, no I/O.
 */
export class ClusterPolicy {
  /** The DEFAULT strategy's threshold, from 0 to 1. */
  readonly spreadThreshold: number;
  #spreadAfter: string | undefined;

  /** @throws TypeError when spreadThreshold is not a number from 0 to 1. */
  constructor(options: { readonly spreadThreshold?: number } = {}) {
    this.spreadThreshold = checkThreshold("ClusterPolicy", options.spreadThreshold);
  }

  /** As {@link chooseNode}; `rng` breaks ties. @throws TypeError for an invalid demand. */
  chooseNode(
    request: PlacementRequest,
    view: ClusterView,
    localNodeId: string,
    rng?: () => number,
  ): PlacementDecision {
    const d = chooseNode(request, view, localNodeId, {
      rng,
      spreadThreshold: this.spreadThreshold,
      spreadAfter: this.#spreadAfter,
    });
    if (request.strategy === "SPREAD" && (d.kind === "local" || d.kind === "spill")) {
      this.#spreadAfter = d.kind === "local" ? localNodeId : d.nodeId;
    }
    return d;
  }
}

function checkThreshold(where: string, value: unknown): number {
  if (value === undefined) return DEFAULT_SPREAD_THRESHOLD;
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw new TypeError(
      `${where}: spreadThreshold must be a number from 0 to 1 (the utilization up to which the local ` +
        `node is preferred), got ${describeValue(value)}`,
    );
  }
  return value;
}

function availUnits(node: Pick<NodeView, "available">, name: string): number {
  const a = Object.hasOwn(node.available, name) ? node.available[name] : undefined;
  return typeof a === "number" && Number.isFinite(a) ? toUnits(name, a) : 0;
}

function hasRoom(c: CompiledDemand, node: NodeView): boolean {
  for (let i = 0; i < c.names.length; i++) {
    if (c.units[i] > availUnits(node, c.names[i])) return false;
  }
  return true;
}

function utilization(c: CompiledDemand, node: Pick<NodeView, "total" | "available">): number {
  let max = 0;
  for (let i = 0; i < c.names.length; i++) {
    const total = unitsOf(node.total, c.names[i]);
    if (total === 0) return Number.POSITIVE_INFINITY;
    const used = total - availUnits(node, c.names[i]) + c.units[i];
    if (used / total > max) max = used / total;
  }
  return max;
}

function decide(ctx: Ctx, nodeId: string): PlacementDecision {
  return nodeId === ctx.localNodeId ? LOCAL : Object.freeze({ kind: "spill", nodeId });
}

function infeasible(reason: string): PlacementDecision {
  return Object.freeze({ kind: "infeasible", reason });
}

function selectorText(selector: LabelSelector): string {
  return `the label selector ${JSON.stringify(selector)}`;
}

/** A decision for a node affinity, or undefined when a soft one falls back to DEFAULT. */
function affinity(ctx: Ctx, nodeId: string, soft: boolean): PlacementDecision | undefined {
  const target = ctx.view.find((n) => n.nodeId === nodeId);
  if (soft) {
    if (target === undefined || !isCandidate(ctx, target)) return undefined;
    return fitsTotals(ctx.c, target.total) && hasRoom(ctx.c, target) ? decide(ctx, nodeId) : undefined;
  }
  const named = `hard node affinity: node ${JSON.stringify(nodeId)}`;
  if (target === undefined) return infeasible(`${named} is not in the cluster`);
  if (!target.alive) return infeasible(`${named} is dead`);
  if (target.draining === true) return infeasible(`${named} is draining and takes no new work`);
  if (!ctx.matches(target.labels)) {
    return infeasible(`${named} does not match ${selectorText(ctx.selector ?? {})}`);
  }
  const shortfall = nodeShortfall(ctx.c.normalized, target.total);
  if (shortfall !== null) return infeasible(`${named} can never fit it: ${shortfall}`);
  return hasRoom(ctx.c, target) ? decide(ctx, nodeId) : WAIT;
}

function isLive(n: NodeView): boolean {
  return n.alive && n.draining !== true;
}

function isCandidate(ctx: Ctx, n: NodeView): boolean {
  return isLive(n) && ctx.matches(n.labels);
}

/** The candidates with room now, or the decision when there are none (infeasible or wait). */
function nodesWithRoom(ctx: Ctx): NodeView[] | PlacementDecision {
  const live = ctx.view.filter(isLive);
  const pool = live.filter((n) => ctx.matches(n.labels));
  const selector = hasSelector(ctx.selector) ? ctx.selector : undefined;
  if (pool.length === 0) {
    if (selector !== undefined && live.length > 0) {
      return infeasible(`no live node matches ${selectorText(selector)}`);
    }
    if (ctx.view.length === 0) return infeasible(infeasibleReason(ctx.c.normalized, [])!);
    const needs = ctx.c.names.length === 0 ? "" : `needs ${describeDemand(ctx.c)}, but `;
    const dead = ctx.view.filter((n) => !n.alive).length;
    return infeasible(
      `${needs}no node is alive and taking new work (${dead} dead, ${ctx.view.length - dead} draining)`,
    );
  }
  const feasible = pool.filter((n) => fitsTotals(ctx.c, n.total));
  if (feasible.length === 0) {
    const reason = infeasibleReason(
      ctx.c.normalized,
      pool.map((n) => n.total),
    )!;
    return infeasible(
      selector === undefined ? reason : `${reason} (among live nodes matching ${selectorText(selector)})`,
    );
  }
  const room = feasible.filter((n) => hasRoom(ctx.c, n));
  return room.length === 0 ? WAIT : room;
}

function byId(a: NodeView, b: NodeView): number {
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}

/** Ray's hybrid policy: pack the local node up to the threshold, then least utilized. */
function hybrid(ctx: Ctx, room: readonly NodeView[]): PlacementDecision {
  const local = room.find((n) => n.nodeId === ctx.localNodeId);
  if (local !== undefined && utilization(ctx.c, local) <= ctx.threshold) return LOCAL;
  return leastUtilized(ctx, room);
}

/** The node with room of least utilization after placing; local wins a tie, then rng or the smallest id. */
function leastUtilized(ctx: Ctx, room: readonly NodeView[]): PlacementDecision {
  let best = Number.POSITIVE_INFINITY;
  let tied: NodeView[] = [];
  for (const n of room) {
    const u = utilization(ctx.c, n);
    if (u < best) {
      best = u;
      tied = [n];
    } else if (u === best) {
      tied.push(n);
    }
  }
  // Staying local saves the owner a round trip to another node.
  if (tied.some((n) => n.nodeId === ctx.localNodeId)) return LOCAL;
  tied.sort(byId);
  return decide(ctx, tied[pickIndex(ctx.options.rng, tied.length)].nodeId);
}

function roundRobin(ctx: Ctx, room: readonly NodeView[]): PlacementDecision {
  const after = ctx.options.spreadAfter!;
  const sorted = [...room].sort(byId);
  const next = sorted.find((n) => n.nodeId > after) ?? sorted[0];
  return decide(ctx, next.nodeId);
}

function pickIndex(rng: (() => number) | undefined, n: number): number {
  if (rng === undefined || n <= 1) return 0;
  const r = rng();
  return Number.isFinite(r) ? Math.min(n - 1, Math.max(0, Math.floor(r * n))) : 0;
}
