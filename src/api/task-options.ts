import { config } from "../config/index.js";
import type { SubmitOptions } from "../core-worker/index.js";
import {
  placementKey,
  type ResourceMap,
  shapeKey,
  toDemand,
  validateLabelSelector,
  validateSchedulingStrategy,
} from "../scheduling/index.js";
import { checkKeys, optInt, optString, show } from "./validate.js";

/** Options of a remote function (`remote(opts, fn)` or `.options(opts)`). */
export interface TaskOptions {
  /** CPUs the task holds while it runs (default 1; fractions allowed). */
  numCpus?: number;
  /** GPUs the task holds (whole GPUs get distinct ids; fractions < 1 share one). */
  numGpus?: number;
  /** Custom resources, e.g. `{ accelerator: 1 }`. */
  resources?: Record<string, number>;
  /** Memory the task reserves, in bytes (scheduling only). */
  memory?: number;
  /** Retries when the worker dies (default 3; -1 retries forever; 0 never). */
  maxRetries?: number;
  /** Also retry when the task throws: true, or the error class names to retry on. */
  retryExceptions?: boolean | string[];
  /** Number of return values; the function then returns an array of that length. */
  numReturns?: number;
  /** Name shown in errors and listings (defaults to the function's name). */
  name?: string;
  /**
   * Which node runs the task. `"DEFAULT"` (the default): the submitting node while it
   * stays at or under half used (the spread threshold), then the least utilized node with
   * room. `"SPREAD"`: round-robin over the nodes with room. `{ nodeId, soft }`: that node
   * (ids from `nodes()`); hard (`soft` false, the default) fails with
   * InfeasibleResourcesError when the node is unknown, dead or can never fit the task,
   * and waits while it is busy; soft falls back to DEFAULT when it cannot run there now.
   * Checked at the call site: anything else is a TypeError.
   */
  schedulingStrategy?: "DEFAULT" | "SPREAD" | { nodeId: string; soft?: boolean };
  /**
   * Only nodes whose labels (`tsray start --labels`) match every entry: `"v"` equals,
   * `"a|b"` one of, `"!v"` / `"!a|b"` none of (or the label is absent). No live node
   * matching: InfeasibleResourcesError naming the selector. Checked at the call site.
   */
  labelSelector?: Record<string, string>;
}

/** Every option a remote function takes (unknown keys are a TypeError). */
export const TASK_OPTION_KEYS = [
  "numCpus",
  "numGpus",
  "resources",
  "memory",
  "maxRetries",
  "retryExceptions",
  "numReturns",
  "name",
  "schedulingStrategy",
  "labelSelector",
] as const;

/** Validated options plus what the core worker needs per submission. */
export interface ResolvedTaskOptions {
  readonly raw: Readonly<TaskOptions>;
  readonly submit: SubmitOptions;
  readonly name: string | undefined;
}

/** Validate task options (throws TypeError naming the bad option). */
export function resolveTaskOptions(opts: TaskOptions, where: string): ResolvedTaskOptions {
  checkKeys(opts, TASK_OPTION_KEYS, where);
  const demand: ResourceMap = toDemand(opts, 1, where);
  const maxRetries =
    optInt(opts, "maxRetries", -1, Number.MAX_SAFE_INTEGER, where) ?? config().defaultMaxRetries;
  const numReturns = optInt(opts, "numReturns", 1, 10_000, where) ?? 1;
  const name = optString(opts, "name", where);
  const strategy = validateSchedulingStrategy(opts.schedulingStrategy, where);
  const labelSelector = validateLabelSelector(opts.labelSelector, where);
  const re = opts.retryExceptions;
  let retryExceptions: boolean | readonly string[] = false;
  if (re !== undefined) {
    if (typeof re === "boolean") retryExceptions = re;
    else if (Array.isArray(re) && re.every((x) => typeof x === "string" && x.length > 0))
      retryExceptions = [...re];
    else {
      throw new TypeError(
        `${where}: retryExceptions must be a boolean or an array of error class names, got ${show(re)}`,
      );
    }
  }
  return {
    raw: Object.freeze({ ...opts }),
    name,
    submit: {
      demand,
      shapeKey: shapeKey(demand) + placementKey(strategy, labelSelector),
      numReturns,
      maxRetries,
      retryExceptions,
      ...(strategy !== "DEFAULT" ? { strategy } : {}),
      ...(Object.keys(labelSelector).length > 0 ? { labelSelector } : {}),
    },
  };
}
