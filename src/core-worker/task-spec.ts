import type { DepTuple, FunctionDescriptor, WireValue } from "../protocol/index.js";
import type { LabelSelector, ResourceMap, SchedulingStrategy } from "../scheduling/index.js";
import type { ObjEntry } from "./object-table.js";

/** Top-level ref arguments of a call: [index, id, owner, inline value or null]. */
export type DepList = DepTuple[];

/** What the owner keeps for each submitted task until it finishes (and for retries). */
export interface TaskSpec {
  readonly id: number;
  readonly desc: FunctionDescriptor;
  /** `module#key`: interning key for the descriptor. */
  readonly descKey: string;
  /** Encoded arguments, or the primitive arguments themselves. */
  readonly args: Uint8Array | WireValue[];
  /** Top-level ref arguments: [index, id, owner, inline value or null]. */
  readonly deps: DepList | undefined;
  /** First return object sequence number. */
  readonly ret: number;
  readonly returnIds: string[];
  readonly demand: ResourceMap;
  /** Groups work that may share leases: the demand's shape plus its placement (see placementKey). */
  readonly shapeKey: string;
  /** Node choice sent with its lease requests (absent: DEFAULT). */
  readonly strategy?: SchedulingStrategy;
  /** Label selector sent with its lease requests (absent: any node). */
  readonly labelSelector?: LabelSelector;
  readonly maxRetries: number;
  readonly retryExceptions: boolean | readonly string[];
  /** Owned objects this task borrowed as arguments (lent counts to give back). */
  lentEntries: ObjEntry[] | undefined;
  /** Owned dependencies not yet ready. */
  pendingDeps: number;
  attempt: number;
  /** Worker-death retries used. */
  crashes: number;
  /** Display name from `.options({ name })`. */
  readonly label: string | undefined;
  /** Set by ray.cancel(): "force" also kills the worker running it. */
  cancelled?: boolean | "force";
}
