// The ResourceMap type, its fixed-point compiled form, and shapeKey.
import {
  compareNames,
  describeValue,
  formatAmount,
  fromUnits,
  setEntry,
  toUnits,
  UNIT_SCALE,
} from "./amounts.js";

/** A demand or capacity: resource name -> amount. Standard names: "CPU", "GPU", "memory"; anything else is custom. */
export type ResourceMap = Readonly<Record<string, number>>;

/**
 * A demand in fixed point: the names with a non-zero amount in display order
 * (CPU, GPU, memory, custom by name) with their integer units, and the normalized map.
 */
export interface CompiledDemand {
  readonly names: readonly string[];
  readonly units: readonly number[];
  /** GPU units demanded (0 when none). */
  readonly gpuUnits: number;
  /** CPU units demanded (0 when none). */
  readonly cpuUnits: number;
  /** Frozen map of the non-zero amounts, rounded to fixed point. */
  readonly normalized: ResourceMap;
  /** The {@link shapeKey} of this demand. */
  readonly key: string;
}

const compiledCache = new WeakMap<object, CompiledDemand>();

const PLAIN_NAME = /^[A-Za-z0-9_.:/-]+$/;

/**
 * Converts a demand map to fixed point, validating it: an object whose amounts are
 * finite numbers >= 0, with GPU amounts above 1 whole. Results for frozen maps
 * (as {@link toDemand} returns) are cached.
 * @throws TypeError naming the bad entry.
 */
export function compileDemand(demand: ResourceMap): CompiledDemand {
  if (demand === null || typeof demand !== "object") {
    throw new TypeError(
      `scheduling: a demand must be an object of resource name -> amount, got ${describeValue(demand)}`,
    );
  }
  const cached = compiledCache.get(demand);
  if (cached !== undefined) return cached;
  const names = Object.keys(demand).sort(compareNames);
  const kept: string[] = [];
  const units: number[] = [];
  const normalized: Record<string, number> = {};
  let gpuUnits = 0;
  let cpuUnits = 0;
  for (const name of names) {
    const amount = demand[name];
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      throw new TypeError(
        `scheduling: demand[${JSON.stringify(name)}] must be a finite number >= 0, got ${describeValue(amount)}`,
      );
    }
    const u = toUnits(name, amount);
    if (u === 0) continue;
    if (name === "GPU") {
      if (u > UNIT_SCALE && u % UNIT_SCALE !== 0) {
        throw new TypeError(
          `scheduling: demand["GPU"] must be a whole number when above 1 (fractions only below 1), got ${amount}`,
        );
      }
      gpuUnits = u;
    } else if (name === "CPU") {
      cpuUnits = u;
    }
    kept.push(name);
    units.push(u);
    setEntry(normalized, name, fromUnits(name, u));
  }
  const key = kept
    .map(
      (name, i) =>
        `${PLAIN_NAME.test(name) ? name : JSON.stringify(name)}=${formatAmount(fromUnits(name, units[i]))}`,
    )
    .join(",");
  const compiled: CompiledDemand = Object.freeze({
    names: Object.freeze(kept),
    units: Object.freeze(units),
    gpuUnits,
    cpuUnits,
    normalized: Object.freeze(normalized),
    key,
  });
  if (Object.isFrozen(demand)) compiledCache.set(demand, compiled);
  return compiled;
}

/**
 * Stable key for a demand shape: the same demand gives the same string whatever the
 * key order, amounts rounded to 0.0001 and zero entries left out, e.g. "CPU=1,GPU=0.5".
 * Names outside `[A-Za-z0-9_.:/-]` are JSON-quoted so keys stay unambiguous; the empty demand is "".
 * @throws TypeError for an invalid demand map.
 */
export function shapeKey(demand: ResourceMap): string {
  return compileDemand(demand).key;
}
