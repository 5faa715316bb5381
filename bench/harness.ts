/**
 * The benchmark harness: a registry of scenarios, Ray's `timeit` measuring loop
 * (warm-up, then a timed run), the JSON-lines output format, and a forced full GC for
 * memory scenarios.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** One benchmark scenario. `run` performs its own warm-up and returns the measured value in `unit`. */
export interface Scenario {
  /** Name as in Ray's `ray microbenchmark` (e.g. "single client tasks sync"). */
  readonly name: string;
  /** Unit of the value: "per_s", "GB_per_s", ... */
  readonly unit: string;
  /** Measure and return the figure. */
  run(): Promise<number>;
}

/** One printed result line. */
export interface ResultLine {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const registry: Scenario[] = [];

/** Add a scenario; names must be unique. Scenario modules call this at import. */
export function register(scenario: Scenario): void {
  if (registry.some((s) => s.name === scenario.name)) {
    throw new Error(`bench: scenario "${scenario.name}" is registered twice`);
  }
  registry.push(scenario);
}

/** Every registered scenario, in registration order. */
export function scenarios(): readonly Scenario[] {
  return registry;
}

/** Seconds each scenario is measured for: env BENCH_SECONDS (default 2). */
export function benchSeconds(): number {
  const raw = process.env.BENCH_SECONDS;
  if (raw === undefined || raw === "") return 2;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new TypeError(`BENCH_SECONDS must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** Warm-up time before each measurement: a quarter of the measured time, 0.25 to 1 s. */
export function warmupSeconds(): number {
  return Math.min(1, Math.max(0.25, benchSeconds() / 4));
}

/**
 * Ray's `timeit`: call `fn` repeatedly for the warm-up time, then for
 * {@link benchSeconds} in steps of a tenth of the warm-up count, and return
 * `multiplier * calls / elapsed seconds`.
 */
export async function timeit(fn: () => Promise<unknown>, multiplier = 1): Promise<number> {
  let start = performance.now();
  let count = 0;
  const warmupMs = warmupSeconds() * 1000;
  while (performance.now() - start < warmupMs) {
    await fn();
    count++;
  }
  const step = Math.floor(count / 10) + 1;
  const durationMs = benchSeconds() * 1000;
  count = 0;
  start = performance.now();
  while (performance.now() - start < durationMs) {
    for (let i = 0; i < step; i++) await fn();
    count += step;
  }
  const elapsed = (performance.now() - start) / 1000;
  return (multiplier * count) / elapsed;
}

/** Round a figure for printing: 2 decimals, or 3 significant digits below 1. */
export function roundValue(v: number): number {
  if (!Number.isFinite(v)) return v;
  return Math.abs(v) >= 1 ? Math.round(v * 100) / 100 : Number(v.toPrecision(3));
}

/** Print one JSON line on stdout. */
export function emit(line: ResultLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

let gcFn: (() => void) | undefined;
/** A full collection in the bench process (it runs without --expose-gc), for memory scenarios. */
export function collect(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}
