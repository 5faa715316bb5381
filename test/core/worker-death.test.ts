// Worker death: retries up to maxRetries, then WorkerCrashedError; the pool replaces
// dead workers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { crashAlways, crashOnce, square } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

const NUM_CPUS = 2;
useCluster({ numCpus: NUM_CPUS, logToDriver: false });

/** pids recorded by the attempts of a crashing task, one line each. */
function attempts(counter: string): number[] {
  return readFileSync(counter, "utf8")
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map(Number);
}

const crashedPids: number[] = [];

async function expectCrash(ref: ray.ObjectRef<number>, counter: string, expectedAttempts: number) {
  await assert.rejects(ray.get(ref, { timeout: 60_000 }), (err: Error) => {
    assert.ok(err instanceof ray.WorkerCrashedError, `got ${err.constructor.name}: ${err.message}`);
    assert.ok(err instanceof ray.RayError);
    assert.equal((err as ray.WorkerCrashedError).code, "WORKER_CRASHED");
    assert.match(err.message, new RegExp(`${expectedAttempts} attempts?`));
    return true;
  });
  const pids = attempts(counter);
  assert.equal(pids.length, expectedAttempts, `attempts made: ${pids.join(", ")}`);
  assert.equal(new Set(pids).size, expectedAttempts, "each attempt ran in a fresh worker");
  crashedPids.push(...pids);
}

describe("a task whose worker dies", () => {
  test("process.exit(1) every time: WorkerCrashedError after maxRetries + 1 = 4 attempts (default 3 retries)", async () => {
    const counter = tempPath("crash-exit", "attempts");
    await expectCrash(crashAlways.remote(counter, "exit"), counter, 4);
  });

  test("SIGKILL every time with maxRetries: 1: fails after 2 attempts", async () => {
    const counter = tempPath("crash-kill", "attempts");
    await expectCrash(crashAlways.options({ maxRetries: 1 }).remote(counter, "sigkill"), counter, 2);
  });

  test("maxRetries: 0 fails after the first attempt", async () => {
    const counter = tempPath("crash-none", "attempts");
    await expectCrash(crashAlways.options({ maxRetries: 0 }).remote(counter, "sigkill"), counter, 1);
  });

  test("a task that crashes only on its first attempt succeeds when retried", async () => {
    const marker = tempPath("crash-once", "attempts");
    const result = await ray.get(crashOnce.remote(marker), { timeout: 60_000 });
    const pids = attempts(marker);
    assert.equal(pids.length, 2);
    assert.equal(result, `survived in ${pids[1]}`);
    crashedPids.push(pids[0]!);
  });

  test("a crash does not affect other tasks running at the same time", async () => {
    const counter = tempPath("crash-mixed", "attempts");
    const crashing = crashAlways.options({ maxRetries: 0 }).remote(counter, "exit");
    const fine = Array.from({ length: 20 }, (_, i) => square.remote(i));
    assert.deepEqual(
      await ray.get(fine),
      Array.from({ length: 20 }, (_, i) => i * i),
    );
    await assert.rejects(ray.get(crashing, { timeout: 60_000 }), ray.WorkerCrashedError);
    crashedPids.push(...attempts(counter));
  });

  test("the pool replaces dead workers and keeps serving", async () => {
    assert.ok(crashedPids.length >= 8, `the tests above crashed ${crashedPids.length} workers`);
    for (const pid of crashedPids) assert.equal(isAlive(pid), false, `crashed worker ${pid} is still alive`);
    const workers = await pollUntil(
      async () => {
        const list = await ray.listWorkers();
        const idle = list.filter((w) => w.state === "idle");
        return idle.length >= NUM_CPUS ? list : undefined;
      },
      20_000,
      `${NUM_CPUS} idle workers`,
    );
    for (const w of workers) {
      assert.ok(!crashedPids.includes(w.pid), `dead worker ${w.pid} is still listed`);
      assert.ok(isAlive(w.pid), `listed worker ${w.pid} is not alive`);
    }
    assert.ok(workers.length <= NUM_CPUS * 2 + 2, `pool grew to ${workers.length} workers`);
    assert.deepEqual(await ray.get([square.remote(3), square.remote(4)]), [9, 16]);
  });
});
