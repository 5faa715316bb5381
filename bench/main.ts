/**
 * `npm run bench [-- --filter REGEX] [--with-peers] [--list]`: runs the scenarios
 * named as in Ray's `ray microbenchmark` and prints one JSON line per scenario,
 * `{"name","value","unit"}`, after a first line describing the environment.
 * See docs/bench.md.
 */
import { availableParallelism, cpus } from "node:os";
import { parseArgs } from "node:util";
import { init, shutdown } from "tsray";
import { benchSeconds, emit, roundValue, type Scenario, scenarios } from "./harness.js";
import { type Figures, figureKey, printRatios, runPeers } from "./peers.js";
import "./scenarios/tasks.js";
import "./scenarios/actors.js";
import "./scenarios/objects.js";
import "./scenarios/memory-soak.js";
import "./scenarios/held-refs.js";
import "./scenarios/store.js";
import "./scenarios/chaos.js";
import "./scenarios/cluster.js";

const USAGE = `usage: npm run bench -- [--filter REGEX] [--with-peers] [--list]
  --filter REGEX  run only the scenarios whose names match (case-insensitive)
  --with-peers    also run ../shared/peers (limits, Piscina) and print ratios
  --list          print the scenario names and exit
env: BENCH_SECONDS (measured seconds per scenario, default 2), BENCH_PEERS_DIR`;

function parseCli(): { filter: RegExp | undefined; withPeers: boolean; list: boolean } {
  let values: { filter?: string; "with-peers"?: boolean; list?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        filter: { type: "string" },
        "with-peers": { type: "boolean" },
        list: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  try {
    benchSeconds();
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  let filter: RegExp | undefined;
  try {
    filter = values.filter === undefined ? undefined : new RegExp(values.filter, "i");
  } catch (err) {
    process.stderr.write(`bench: --filter is not a valid regular expression: ${(err as Error).message}\n`);
    process.exit(2);
  }
  return { filter, withPeers: values["with-peers"] === true, list: values.list === true };
}

/** Stop a scenario that runs far past its budget instead of hanging the whole run. */
function withWatchdog(s: Scenario): Promise<number> {
  const limitMs = ((s as { limitSeconds?: number }).limitSeconds ?? benchSeconds() * 10 + 60) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${limitMs / 1000} s`)), limitMs);
  });
  return Promise.race([s.run(), watchdog]).finally(() => clearTimeout(timer));
}

async function main(): Promise<number> {
  const { filter, withPeers, list } = parseCli();
  const selected = scenarios().filter((s) => !filter || filter.test(s.name));
  if (list) {
    for (const s of selected) process.stdout.write(`${s.name}\n`);
    return 0;
  }
  if (selected.length === 0 && !withPeers) {
    process.stderr.write(
      `bench: no scenario matches ${String(filter)}; scenarios:\n${scenarios()
        .map((s) => `  ${s.name}`)
        .join("\n")}\n`,
    );
    return 2;
  }
  const figures: Figures = new Map();
  let failed = 0;
  if (selected.length > 0) {
    const seconds = benchSeconds();
    // One cluster serves every scenario: its store is as large as the largest a selected scenario needs.
    const storeMemory = Math.max(
      0,
      ...selected.map((s) => (s as { objectStoreMemory?: number }).objectStoreMemory ?? 0),
    );
    const info = await init({
      numCpus: availableParallelism(),
      ...(storeMemory > 0 ? { objectStoreMemory: storeMemory } : {}),
    });
    emit({
      name: "environment",
      value: null,
      unit: "info",
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? "unknown",
      objectStore: info.objectStore,
      benchSeconds: seconds,
    });
    try {
      for (const s of selected) {
        try {
          const value = await withWatchdog(s);
          figures.set(figureKey("tsray", s.name), value);
          emit({ name: s.name, value: roundValue(value), unit: s.unit });
        } catch (err) {
          failed++;
          emit({ name: s.name, value: null, unit: s.unit, error: String(err) });
        }
      }
    } finally {
      await shutdown();
    }
  }
  if (withPeers) {
    await runPeers(figures);
    printRatios(figures);
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
