// The benchmark driver as CI runs it from a clean clone: scripts/bench.mjs compiles the
// benchmarks (tsconfig.bench.json, to dist-bench/) and runs them. `--list` must offer
// every required scenario, and one short scenario must print JSON lines with a
// positive figure. The bench runs stay in this one file (run one after another)
// because each run rewrites dist-bench/.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, test } from "node:test";
import { cliMain, repoRoot } from "../cli/helpers.js";
import { killPids } from "../helpers/processes.js";
import { REQUIRED_SCENARIOS } from "./scenario-names.js";

const started = new Set<number>();
after(() => killPids(started));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `node ...args` in the repository root to completion, or kill it after `timeoutMs`. */
function runNode(args: string[], extraEnv: Record<string, string>, timeoutMs: number): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) started.add(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`node ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (child.pid !== undefined) started.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
  });
}

function lines(out: string): string[] {
  return out.split("\n").filter((l) => l.trim() !== "");
}

// Compiling the benchmarks takes a while on a loaded machine.
const COMPILE_AND_RUN_MS = 240_000;

describe("npm run bench", { timeout: 3 * COMPILE_AND_RUN_MS }, () => {
  let listed: string[] = [];

  test("--list offers every required scenario, once each", { timeout: COMPILE_AND_RUN_MS }, async () => {
    const r = await runNode(["scripts/bench.mjs", "--list"], {}, COMPILE_AND_RUN_MS - 10_000);
    assert.equal(r.code, 0, r.stderr);
    listed = lines(r.stdout);
    const missing = REQUIRED_SCENARIOS.filter((n) => !listed.includes(n));
    assert.deepEqual(missing, [], `missing from --list:\n${r.stdout}`);
    assert.equal(new Set(listed).size, listed.length, "a scenario is listed twice");
  });

  test("one short scenario prints the environment line and a positive figure, as JSON lines", {
    timeout: COMPILE_AND_RUN_MS,
  }, async () => {
    const r = await runNode(
      ["scripts/bench.mjs", "--filter", "^single client put calls$"],
      { BENCH_SECONDS: "0.5" },
      COMPILE_AND_RUN_MS - 10_000,
    );
    assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    const parsed = lines(r.stdout).map((l) => {
      let v: unknown;
      assert.doesNotThrow(() => {
        v = JSON.parse(l);
      }, `not JSON: ${l}`);
      const o = v as { name?: unknown; value?: unknown; unit?: unknown };
      assert.equal(typeof o.name, "string", l);
      assert.ok(o.value === null || typeof o.value === "number", l);
      assert.equal(typeof o.unit, "string", l);
      return v as { name: string; value: number | null; unit: string; [k: string]: unknown };
    });
    assert.deepEqual(
      parsed.map((p) => p.name),
      ["environment", "single client put calls"],
    );
    const [environment, result] = parsed;
    assert.equal(environment!.unit, "info");
    assert.equal(environment!.value, null);
    assert.equal(environment!.node, process.version);
    assert.equal(environment!.benchSeconds, 0.5);
    assert.ok(typeof environment!.cpus === "number" && environment!.cpus > 0, JSON.stringify(environment));
    assert.match(
      String(environment!.objectStore),
      /^shared-memory \((native addon, zero-copy|js fallback, copies)\), \d+ bytes$/,
    );
    assert.equal(result!.unit, "per_s");
    assert.ok(typeof result!.value === "number" && result!.value > 0, JSON.stringify(result));
    assert.equal(result!.error, undefined);
  });

  test("tsray microbenchmark --list runs the bench of this checkout: the same names", {
    timeout: COMPILE_AND_RUN_MS,
  }, async () => {
    const r = await runNode([cliMain, "microbenchmark", "--list"], {}, COMPILE_AND_RUN_MS - 10_000);
    assert.equal(r.code, 0, r.stderr);
    const names = lines(r.stdout);
    const missing = REQUIRED_SCENARIOS.filter((n) => !names.includes(n));
    assert.deepEqual(missing, [], `missing from microbenchmark --list:\n${r.stdout}`);
    if (listed.length > 0) assert.deepEqual(names, listed);
  });
});
