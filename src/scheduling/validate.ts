// Checks for user-supplied amounts and resource names. Every failure is a TypeError
// whose message names the call (`where`), the option, the bad value and what is valid.
import { describeValue, fromUnits, maxAmount, toUnits, UNIT_SCALE } from "./amounts.js";

/**
 * Validates one amount of resource `name` given as `option` (e.g. "numGpus",
 * `resources["accel"]`) and returns it normalized to fixed point.
 * Valid: a finite number >= 0 and at most {@link maxAmount}; a positive CPU/GPU/custom
 * amount must be at least 0.0001; a GPU amount above 1 must be whole.
 * @throws TypeError naming `where`, `option`, the value and the rule.
 */
export function checkAmount(where: string, option: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `${where}: ${option} must be a finite number >= 0 (fractions allowed), got ${describeValue(value)}`,
    );
  }
  const max = maxAmount(name);
  if (value > max) {
    throw new TypeError(`${where}: ${option} must be at most ${max}, got ${describeValue(value)}`);
  }
  const units = toUnits(name, value);
  if (value > 0 && units === 0 && name !== "memory") {
    throw new TypeError(
      `${where}: ${option} must be 0 or at least 0.0001 (the smallest unit), got ${describeValue(value)}`,
    );
  }
  if (name === "GPU" && units > UNIT_SCALE && units % UNIT_SCALE !== 0) {
    throw new TypeError(
      `${where}: ${option} must be a whole number when above 1 (only a fraction below 1 of a single GPU ` +
        `can be shared), got ${describeValue(value)}`,
    );
  }
  return fromUnits(name, units);
}

/**
 * Validates a resource name: a string that is not empty or only whitespace.
 * @throws TypeError naming `where` and the bad name.
 */
export function checkName(where: string, option: string, name: unknown): string {
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(
      `${where}: ${option} names must be non-empty strings, got ${
        typeof name === "string" ? JSON.stringify(name) : describeValue(name)
      }`,
    );
  }
  return name;
}

/** True for `{...}` literals and `Object.create(null)` objects; false for arrays, Maps, class instances. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Validates a map of name -> amount given as `option` and returns its entries,
 * amounts normalized, zero amounts kept. Symbol keys are rejected. `reject(name)` may
 * return a reason to refuse a name; it is checked before that name's amount.
 * @throws TypeError when `value` is not a plain object, or for any bad or refused name, or bad amount.
 */
export function checkResourceMap(
  where: string,
  option: string,
  value: unknown,
  reject?: (name: string) => string | undefined,
): [string, number][] {
  if (!isPlainObject(value)) {
    throw new TypeError(
      `${where}: ${option} must be a plain object of resource name -> amount, got ${describeValue(value)}`,
    );
  }
  const symbols = Object.getOwnPropertySymbols(value);
  if (symbols.length > 0) checkName(where, option, symbols[0]);
  const out: [string, number][] = [];
  for (const name of Object.keys(value)) {
    checkName(where, option, name);
    const reason = reject?.(name);
    if (reason !== undefined) throw new TypeError(`${where}: ${option}[${JSON.stringify(name)}] ${reason}`);
    out.push([name, checkAmount(where, `${option}[${JSON.stringify(name)}]`, name, value[name])]);
  }
  return out;
}
