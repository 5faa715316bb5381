#!/usr/bin/env node
// `npm run bench`: builds the package and the benchmarks (to dist-bench/) as plain JavaScript, then
// runs them with plain node, so the figures are those of compiled code (no TypeScript
// loader in the driver or the workers), as in production. TSRAY_SKIP_BUILD=1 (set by
// `npm test` for the tests, which run on a fresh build) skips rebuilding the package.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const steps = [["node_modules/typescript/bin/tsc", "-p", "tsconfig.bench.json"]];
if (!process.env.TSRAY_SKIP_BUILD) steps.unshift(["scripts/build.mjs"]);
for (const args of steps) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const run = spawnSync(process.execPath, ["dist-bench/bench/main.js", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(run.status ?? 1);
