// toDemand: user-facing resource options (ray.remote / .options / init) -> a demand map.
import { compareNames, describeValue, setEntry } from "./amounts.js";
import type { ResourceMap } from "./resource-map.js";
import { checkAmount, checkResourceMap } from "./validate.js";

/** The resource options a user may pass to `remote()`, `.options()` or `init()`. */
export interface ResourceOptions {
  numCpus?: unknown;
  numGpus?: unknown;
  resources?: unknown;
  memory?: unknown;
}

/** Names that have their own option and so may not appear in `resources`. */
const RESERVED: Readonly<Record<string, string>> = Object.freeze({
  CPU: "numCpus",
  GPU: "numGpus",
  memory: "memory",
});

function reserved(name: string): string | undefined {
  if (!Object.hasOwn(RESERVED, name)) return undefined;
  return `is not allowed; use the ${RESERVED[name]} option for ${name} (resources is for custom resources only)`;
}

/**
 * Validates user-facing resource options and returns the normalized demand map.
 *
 * - `numCpus` / `numGpus`: finite number >= 0, fractions allowed, but a GPU amount above
 *   1 must be whole (Ray: only a fraction below 1 of one GPU can be shared).
 * - `memory`: bytes, finite number >= 0, rounded down to a whole byte (as Ray does).
 * - `resources`: plain object of custom name -> finite number >= 0; names must be
 *   non-empty strings and may not be "CPU", "GPU" or "memory" (use the options above).
 * - `defaultCpus` is used when `numCpus` is undefined (tasks: 1, actors: 0).
 *
 * Amounts are rounded to 0.0001; a positive amount below that is rejected. The result
 * is frozen, lists CPU, GPU, memory, then custom names in order, and omits zero entries.
 * `where` names the call for messages, e.g. "remote() options".
 * @throws TypeError naming `where`, the option, the bad value and what is valid.
 */
export function toDemand(opts: ResourceOptions, defaultCpus: number, where: string): ResourceMap {
  if (opts === null || typeof opts !== "object") {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(opts)}`);
  }
  const out: Record<string, number> = {};
  const cpus =
    opts.numCpus === undefined
      ? checkAmount("toDemand()", "defaultCpus", "CPU", defaultCpus)
      : checkAmount(where, "numCpus", "CPU", opts.numCpus);
  const gpus = opts.numGpus === undefined ? 0 : checkAmount(where, "numGpus", "GPU", opts.numGpus);
  const memory = opts.memory === undefined ? 0 : checkAmount(where, "memory", "memory", opts.memory);
  if (cpus > 0) out.CPU = cpus;
  if (gpus > 0) out.GPU = gpus;
  if (memory > 0) out.memory = memory;
  if (opts.resources !== undefined) {
    const entries = checkResourceMap(where, "resources", opts.resources, reserved);
    entries.sort((a, b) => compareNames(a[0], b[0]));
    for (const [name, amount] of entries) if (amount > 0) setEntry(out, name, amount);
  }
  return Object.freeze(out);
}
