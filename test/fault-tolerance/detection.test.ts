// Issue 6, point 1 (detection): a worker or actor process that exits or is
// SIGKILLed is noticed within a second, and its resources and GPU ids return to
// the pool. (Hangs are in heartbeat.test.ts, which shortens the deadline.)
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { attemptLog, flaky, Ledger } from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil, within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, numGpus: 2, logToDriver: false });

/** Wait until the whole cluster is free again: 2 CPUs and 2 GPUs. */
async function allFree(ms: number): Promise<Record<string, number>> {
  return pollUntil(
    async () => {
      const a = await ray.availableResources();
      return a.CPU === 2 && a.GPU === 2 ? a : undefined;
    },
    ms,
    "2 CPUs and 2 GPUs to be available",
    10,
  );
}

describe("detection of dead processes", () => {
  test("a SIGKILLed actor is DEAD within a second; its pending call fails naming the signal", async () => {
    const a = Ledger.options({ numCpus: 1, numGpus: 2 }).remote(0);
    const pid = await ray.get(a.pid.remote());
    assert.deepEqual(await ray.get(a.gpuIds.remote()), [0, 1]);
    const held = await ray.availableResources();
    assert.equal(held.GPU ?? 0, 0, "the actor holds both GPUs");
    assert.equal(held.CPU, 1, "the actor holds one CPU");
    const pending = ray.get(a.hang.remote()); // runs until the process dies
    await pollUntil(async () => (await ray.listActors()).some((x) => x.pid === pid), 5_000, "actor listed");
    const t0 = performance.now();
    process.kill(pid, "SIGKILL");
    await assert.rejects(within(pending, 1_000, "the pending call to fail"), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError, `got ${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /exited with signal SIGKILL/);
      assert.match(err.message, new RegExp(`pid ${pid}`));
      return true;
    });
    const dead = await pollUntil(
      async () => (await ray.listActors()).find((x) => x.pid === pid && x.state === "DEAD"),
      1_000,
      "the actor to be DEAD",
      10,
    );
    assert.match(dead.deathCause ?? "", /signal SIGKILL/);
    await allFree(1_000);
    const elapsed = performance.now() - t0;
    assert.ok(elapsed < 1_000, `noticed after ${elapsed.toFixed(0)} ms`);
    // The GPUs went back to the pool: a new actor gets them.
    const b = Ledger.options({ numGpus: 2 }).remote(0);
    assert.deepEqual(await ray.get(b.gpuIds.remote()), [0, 1]);
    await ray.kill(b);
    await allFree(5_000);
  });

  test("an actor process that exits by itself is DEAD within a second, naming its exit code", async () => {
    const a = Ledger.options({ numGpus: 1 }).remote(0);
    const pid = await ray.get(a.pid.remote());
    const t0 = performance.now();
    await assert.rejects(within(ray.get(a.exit.remote(7)), 1_000, "the exit call to fail"), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError, String(err));
      assert.match(err.message, /exited with code 7/);
      return true;
    });
    await allFree(1_000);
    assert.ok(performance.now() - t0 < 1_000);
    await pollUntil(() => !isAlive(pid), 1_000, `pid ${pid} to be gone`);
  });

  test("a task worker that is SIGKILLed mid-task is noticed within a second and its CPU and GPU return", async () => {
    const file = tempPath("detect-task", "attempts");
    const ref = flaky.options({ numGpus: 1, maxRetries: 0 }).remote(file, 1, "sigkill");
    // Submission and worker start come first (not detection): the bound on them is loose.
    await assert.rejects(within(ray.get(ref), 10_000, "the crashing task"), ray.WorkerCrashedError);
    await allFree(1_000);
    // The task records its start (wall clock) and SIGKILLs its own process right after:
    // from there to the error here and every CPU and GPU back is the detection.
    const [attempt] = attemptLog(file);
    assert.ok(attempt, "the task ran");
    const elapsed = Date.now() - attempt.at;
    assert.ok(elapsed < 1_000, `noticed after ${elapsed} ms`);
    // The pool drops the dead worker once its exit is reaped, which may come a moment
    // after the owner saw the connection close: within the same second.
    await pollUntil(
      async () => (await ray.listWorkers()).every((w) => isAlive(w.pid)),
      1_000,
      "every listed worker to be alive (the killed one dropped from the pool)",
    );
  });
});
