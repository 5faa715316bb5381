import type { FunctionDescriptor } from "../protocol/index.js";
import type { ResourceMap } from "../scheduling/index.js";
import type { ObjEntry } from "./object-table.js";

/** A top-level ObjectRef argument, to be replaced by its value before the task runs. */
export interface TaskDep {
  /** Argument index. */
  i: number;
  id: string;
  /** Owner address. */
  o: string;
  /** Encoded value when the submitting owner has it inline. */
  v?: Uint8Array;
}

/** What the owner keeps for each submitted task until it finishes (and for retries). */
export interface TaskSpec {
  readonly id: number;
  readonly desc: FunctionDescriptor;
  /** `module#key`: interning key for the descriptor. */
  readonly descKey: string;
  readonly args: Uint8Array;
  readonly deps: TaskDep[] | undefined;
  /** First return object sequence number. */
  readonly ret: number;
  readonly returnIds: string[];
  readonly demand: ResourceMap;
  readonly shapeKey: string;
  readonly maxRetries: number;
  readonly retryExceptions: boolean | readonly string[];
  /** Owned objects this task borrowed as arguments (lent counts to give back). */
  lentEntries: ObjEntry[] | undefined;
  /** Owned dependencies not yet ready. */
  pendingDeps: number;
  attempt: number;
  /** Worker-death retries used. */
  crashes: number;
}
