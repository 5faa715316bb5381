// Resource scheduling: pure accounting and placement decisions (no I/O, no timers,
// no process state). See docs/design/scheduling.md.

export { describeAmount, formatAmount, UNIT_SCALE } from "./amounts.js";
export {
  type ChooseOptions,
  ClusterPolicy,
  chooseNode,
  DEFAULT_SPREAD_THRESHOLD,
  type PlacementDecision,
  type PlacementRequest,
  utilizationAfter,
} from "./cluster-policy.js";
export type {
  ClusterView,
  LabelSelector,
  NodeAffinityStrategy,
  NodeView,
  SchedulingStrategy,
} from "./cluster-view.js";
export { validateLabelSelector, validateNodeLabels, validateSchedulingStrategy } from "./cluster-view.js";
export type { ResourceOptions } from "./demand.js";
export { toDemand } from "./demand.js";
export type {
  GrantDecision,
  KillDecision,
  LeaseDecisions,
  LeaseRequest,
  RuntimeFailure,
  StartDecision,
  WorkerView,
} from "./lease-decisions.js";
export { type LeaseRoute, placementKey, type RouteRequest, routeLease } from "./lease-route.js";
export { LeaseScheduler, type LeaseSchedulerOptions, MAX_START_FAILURES } from "./lease-scheduler.js";
export type { Allocation } from "./node-resources.js";
export { NodeResources } from "./node-resources.js";
export { fitsTotal, infeasibleReason } from "./placement.js";
export type { ResourceMap } from "./resource-map.js";
export { shapeKey } from "./resource-map.js";
