// SPEC §1: user code may be TypeScript with no build step natively on Node >= 22.18
// (type stripping), not only under tsx: a plain `node main.ts` driver whose remote
// definitions live in a .ts module runs tasks and actors, and its workers load that
// module the same way. Defined where the running Node strips types (CI runs it on 24).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { expectAllDead, killPids, outputOf } from "../helpers/processes.js";

const DRIVER = fileURLToPath(new URL("../fixtures/strip-driver.ts", import.meta.url));
const strips = typeof (process.features as { typescript?: unknown }).typescript === "string";

if (strips) {
  const children: ChildProcess[] = [];
  const started: number[] = [];
  after(() => killPids([...children.map((c) => c.pid ?? -1), ...started].filter((p) => p > 0)));

  test("a driver run by plain node on type stripping runs tasks and actors from a .ts module", async () => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // no loader of the test runner's
    const child = spawn(process.execPath, [DRIVER], { env, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    const { code, out, err } = await outputOf(child, 60_000, "the type-stripping driver to finish");
    assert.equal(code, 0, `driver failed: ${err}`);
    const report = JSON.parse(out.trim()) as {
      doubled: number[];
      totals: number[];
      headPid: number;
      pids: number[];
    };
    started.push(report.headPid, ...report.pids);
    assert.deepEqual(report.doubled, [2, 4, 6]);
    assert.deepEqual(report.totals, [1, 3]);
    await expectAllDead([report.headPid, ...report.pids], 10_000);
  });
}
