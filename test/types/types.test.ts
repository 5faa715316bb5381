// Runs the type checker over the project (tsconfig.json includes test/, so
// test/types/inference.ts with its @ts-expect-error lines is checked): an accepted
// wrong call, or a wrong inferred type, fails this test.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("tsc --noEmit -p tsconfig.json passes (type-level tests in test/types/inference.ts)", () => {
  const tsc = fileURLToPath(new URL("../../node_modules/.bin/tsc", import.meta.url));
  const run = spawnSync(tsc, ["--noEmit", "-p", "tsconfig.json"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(run.error, undefined, `could not run tsc: ${run.error}`);
  assert.equal(run.status, 0, `tsc reported errors:\n${run.stdout}${run.stderr}`);
});
