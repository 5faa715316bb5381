// Every example in examples/ runs as its own process (as a user would run it, with
// `node --import tsx examples/<name>.ts` from the repository root), exits 0 within a
// deadline, and prints what it is meant to show.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isAlive, killPids, pollUntil } from "../helpers/processes.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TIMEOUT_MS = 60_000;
const children = new Set<ChildProcess>();

interface Run {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runExample(name: string): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", `examples/${name}`], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid) killPids([child.pid]);
      reject(
        new Error(
          `examples/${name} did not exit within ${TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ pid: child.pid ?? -1, code, signal, stdout, stderr });
    });
  });
}

/**
 * Live processes of the cluster a driver started: their environment names its session
 * directory (…/session-<time>-<driver pid>). Linux only ([] elsewhere).
 */
function clusterProcessesOf(driverPid: number): number[] {
  if (process.platform !== "linux") return [];
  const marker = new RegExp(`session-\\d+-${driverPid}\\b`);
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      if (marker.test(readFileSync(`/proc/${pid}/environ`, "latin1")) && isAlive(pid)) found.push(pid);
    } catch {
      // gone, or not ours
    }
  }
  return found;
}

async function expectSuccess(name: string): Promise<string> {
  const r = await runExample(name);
  // The example's cluster (head and workers) must go away with it.
  let leftovers: number[] = [];
  try {
    await pollUntil(
      () => clusterProcessesOf(r.pid).length === 0,
      10_000,
      `examples/${name}'s cluster to exit`,
    );
  } catch {
    leftovers = clusterProcessesOf(r.pid);
    killPids(leftovers);
  }
  assert.equal(
    r.code,
    0,
    `examples/${name} exited with code ${r.code} (signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
  );
  assert.deepEqual(leftovers, [], `examples/${name} left cluster processes running`);
  return r.stdout;
}

after(() => {
  const alive = [...children].map((c) => c.pid).filter((p): p is number => p !== undefined && isAlive(p));
  killPids(alive);
});

const tested = new Set<string>();

/** Register the test of one example (the names feed the check that every example has one). */
function exampleTest(name: string, what: string, check: (stdout: string) => void): void {
  tested.add(name);
  test(`${name}: ${what}`, async () => check(await expectSuccess(name)));
}

describe("examples", { concurrency: 1 }, () => {
  exampleTest("quickstart.ts", "squares, a sum of refs, an actor's counts", (out) => {
    assert.match(out, /^squares: \[ 1, 4, 9, 16 \]$/m);
    assert.match(out, /^3² \+ 4² = 25$/m);
    assert.match(out, /^counter: \[ 1, 2, 3 \]$/m);
  });

  exampleTest("counter.ts", "ten counters once each, then counters[0] five times", (out) => {
    assert.match(out, /\[1,1,1,1,1,1,1,1,1,1\]/);
    assert.match(out, /\[2,3,4,5,6\]/);
  });

  exampleTest(
    "gym-environment.ts",
    "CartPole environments stepped in parallel; episode lengths printed",
    (out) => {
      const lengths = (policy: string) => {
        const m = new RegExp(`policy ${policy}: episode lengths (\\[[\\d,]+\\])`).exec(out);
        assert.ok(m, `no episode lengths for policy ${policy} in:\n${out}`);
        return JSON.parse(m[1]!) as number[];
      };
      const random = lengths("random");
      const simple = lengths("lean-following");
      assert.equal(random.length, 4);
      assert.equal(simple.length, 4);
      for (const l of [...random, ...simple])
        assert.ok(l >= 1 && l <= 500, `episode length ${l} out of range`);
      // A random policy drops the pole within a few dozen steps; following the lean balances far longer.
      assert.ok(Math.max(...random) < 100, `random episodes: ${random}`);
      assert.ok(Math.min(...simple) > Math.max(...random), `simple ${simple} vs random ${random}`);
      const pids = /environments, in processes ([\d, ]+)/.exec(out);
      assert.ok(pids, out);
      assert.equal(new Set(pids[1]!.split(", ")).size, 4, "each environment should live in its own process");
    },
  );

  exampleTest("neural-net-on-gpu.ts", "a numGpus: 1 actor trains, accuracy improves", (out) => {
    const before = /accuracy before training: ([\d.]+)/.exec(out);
    const afterTraining = /accuracy after 100 steps: ([\d.]+)/.exec(out);
    assert.ok(before && afterTraining, out);
    assert.ok(Number(afterTraining[1]) > Number(before[1]) + 0.3, out);
    assert.match(out, /getGpuIds\(\) = \[\d+\], CUDA_VISIBLE_DEVICES=\d+/);
    const ids = /getGpuIds\(\) = \[(\d+)\], CUDA_VISIBLE_DEVICES=(\d+)/.exec(out)!;
    assert.equal(ids[1], ids[2], "CUDA_VISIBLE_DEVICES should name the actor's GPU id");
    if (/no CUDA GPU on this machine/.test(out)) {
      assert.match(out, /no CUDA GPU on this machine: training on CPU with GPU id \[0\] reserved/);
    }
  });

  exampleTest("actor-handles.ts", "four tasks drive one counter through handles; final count 400", (out) => {
    const seen = [...out.matchAll(/^counter = (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(seen.length, 10, out);
    for (let i = 1; i < seen.length; i++)
      assert.ok(seen[i]! >= seen[i - 1]!, `counter went backwards: ${seen}`);
    assert.match(out, /final count 400$/m);
  });

  exampleTest(
    "parameter-server.ts",
    "workers pull/push through the server's handle; the loss decreases",
    (out) => {
      const losses = [...out.matchAll(/^updates\s+(\d+): loss ([\d.]+)$/gm)].map((m) => ({
        updates: Number(m[1]),
        loss: Number(m[2]),
      }));
      assert.ok(losses.length >= 2, out);
      assert.equal(losses[0]!.updates, 0);
      assert.equal(losses[losses.length - 1]!.updates, 400);
      assert.ok(losses[losses.length - 1]!.loss < losses[0]!.loss / 100, out);
      assert.match(out, /4 workers pushed 400 gradients; loss decreased/);
    },
  );

  test("every example in examples/ has a test here", () => {
    const examples = readdirSync(`${ROOT}/examples`).filter((f) => f.endsWith(".ts"));
    assert.deepEqual(
      examples.filter((f) => !tested.has(f)),
      [],
      "examples without a test",
    );
  });
});
