// The simulation suite inside `npm test`: every scenario of test/sim/scenarios/ against
// its golden output (docs/design/simulation.md). `npm run sim` runs the same files.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { test } from "node:test";
import { scenarioFiles } from "./run.js";
import { runScenario } from "./script.js";

const files = scenarioFiles();

test("there are at least 50 scenarios", () => {
  assert.ok(files.length >= 50, `only ${files.length} scenarios`);
});

for (const file of files) {
  test(`scenario ${basename(file, ".txt")}`, async () => {
    const r = await runScenario(file, false);
    assert.ok(r.passed, r.failure);
  });
}
