#!/usr/bin/env node
// `npm run bench`: builds the package and the benchmarks (to dist-bench/) as plain JavaScript, then
// runs them with plain node, so the figures are those of compiled code (no TypeScript
// loader in the driver or the workers), as in production.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
for (const args of [
  ["scripts/build.mjs"],
  ["node_modules/typescript/bin/tsc", "-p", "tsconfig.bench.json"],
]) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const run = spawnSync(process.execPath, ["dist-bench/bench/main.js", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
});
process.exit(run.status ?? 1);
