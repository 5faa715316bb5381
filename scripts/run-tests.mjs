#!/usr/bin/env node
// Runs the test suite with node's own test runner: builds first (tests drive the
// compiled package through its `exports`, as users do), then runs every
// `*.test.ts` under test/ with tsx. Usage: npm test [-- name-substring ...]
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".test.ts")) out.push(relative(root, p));
  }
  return out;
}

if (!process.env.TSRAY_SKIP_BUILD) {
  const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const files = walk(join(root, "test"), [])
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${JSON.stringify(filters)}`);
  process.exit(1);
}
const concurrency = process.env.TSRAY_TEST_CONCURRENCY ?? "2";
const args = [
  "--import",
  "tsx",
  "--test",
  `--test-concurrency=${concurrency}`,
  "--test-timeout=120000",
  ...files,
];
// dist/ is built: tests that run scripts/bench.mjs (directly or via `tsray microbenchmark`)
// skip rebuilding it, so they do not rewrite files that other test files are loading.
const run = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, TSRAY_SKIP_BUILD: "1" },
});
process.exit(run.status ?? 1);
