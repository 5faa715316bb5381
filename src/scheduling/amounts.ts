// Fixed-point arithmetic for resource amounts, and the text helpers that print them.
// Every amount is kept as an integer count of units: 1/10000 of a CPU, GPU or custom
// resource (Ray's granularity), or one byte for `memory` (whole bytes, so a node with
// terabytes of memory still counts in safe integers).

import { formatBytes } from "../util/index.js";

/** Units per whole CPU, GPU or custom resource: amounts are exact to 0.0001. */
export const UNIT_SCALE = 10_000;

/** The standard resource names, in the order messages and maps list them. */
export const STANDARD_RESOURCES: readonly string[] = Object.freeze(["CPU", "GPU", "memory"]);

/** Units per whole amount of `name`: 1 for `memory` (bytes), {@link UNIT_SCALE} for everything else. */
export function scaleOf(name: string): number {
  return name === "memory" ? 1 : UNIT_SCALE;
}

/** The largest amount of `name` that still counts in safe integer units. */
export function maxAmount(name: string): number {
  return Math.floor(Number.MAX_SAFE_INTEGER / scaleOf(name));
}

/**
 * Converts an amount to integer units: rounds to the nearest 0.0001, or for `memory`
 * rounds down to a whole byte (as Ray does). The input is assumed finite; callers validate.
 */
export function toUnits(name: string, amount: number): number {
  return name === "memory" ? Math.floor(amount) : Math.round(amount * UNIT_SCALE);
}

/** Converts integer units back to an amount; exact inverse of {@link toUnits} on its results. */
export function fromUnits(name: string, units: number): number {
  return name === "memory" ? units : units / UNIT_SCALE;
}

/**
 * Prints an amount rounded to 4 decimals without trailing zeros: 1 -> "1", 0.5 -> "0.5",
 * 0.1 + 0.2 -> "0.3". Non-finite numbers print as `String(n)`; -0 prints as "0".
 */
export function formatAmount(n: number): string {
  if (!Number.isFinite(n) || Number.isInteger(n)) return String(n === 0 ? 0 : n);
  const rounded = Math.round(n * UNIT_SCALE) / UNIT_SCALE;
  return String(rounded === 0 ? 0 : rounded);
}

/** Prints "<amount> <name>" for messages: "1 GPU", "0.5 CPU", "2 GiB memory", "3 accel". */
export function describeAmount(name: string, amount: number): string {
  return name === "memory" ? `${formatBytes(amount)} memory` : `${formatAmount(amount)} ${name}`;
}

/** Prints the amount alone, as {@link describeAmount} would (bytes get their unit). */
export function formatAmountOf(name: string, amount: number): string {
  return name === "memory" ? formatBytes(amount) : formatAmount(amount);
}

/** Orders resource names for display and maps: CPU, GPU, memory, then the rest by code unit. */
export function compareNames(a: string, b: string): number {
  const ia = STANDARD_RESOURCES.indexOf(a);
  const ib = STANDARD_RESOURCES.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? 3 : ia) - (ib === -1 ? 3 : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Describes any value for an error message: numbers as written (`-1`, `NaN`), strings
 * quoted with their type, objects by kind ("an array", "a Map", "null").
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case "number":
      return String(v);
    case "string": {
      const shown = v.length > 40 ? `${v.slice(0, 40)}...` : v;
      return `${JSON.stringify(shown)} (a string)`;
    }
    case "bigint":
      return `${v}n (a bigint)`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "object": {
      if (v === null) return "null";
      if (Array.isArray(v)) return "an array";
      const ctor: unknown = (Object.getPrototypeOf(v) as { constructor?: unknown } | null)?.constructor;
      const name = typeof ctor === "function" ? ctor.name : "";
      return name && name !== "Object" ? `a ${name}` : "an object";
    }
    default:
      return `${String(v)} (a ${typeof v})`;
  }
}

/** Sets an own enumerable property, safe for names such as "__proto__". */
export function setEntry(target: Record<string, number>, name: string, value: number): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}
