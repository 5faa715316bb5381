// `npm run sim [-- --rewrite] [name-substring ...]`: run every scenario under
// test/sim/scenarios/ and print `N passed, N failed`; exit 1 when any failed.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runScenario } from "./script.js";

const dir = fileURLToPath(new URL("./scenarios/", import.meta.url));

/** Scenario files (sorted), optionally only those whose name contains one of `filters`. */
export function scenarioFiles(filters: readonly string[] = []): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .map((f) => join(dir, f));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rewrite = argv.includes("--rewrite");
  const files = scenarioFiles(argv.filter((a) => a !== "--rewrite"));
  let passed = 0;
  let failed = 0;
  const t0 = performance.now();
  for (const file of files) {
    const r = await runScenario(file, rewrite);
    if (r.passed) passed++;
    else {
      failed++;
      console.log(`FAIL ${r.failure}`);
    }
  }
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`${passed} passed, ${failed} failed${rewrite ? " (outputs rewritten)" : ""} in ${s} s`);
  process.exitCode = failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
