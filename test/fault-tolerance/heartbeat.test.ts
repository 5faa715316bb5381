// Issue 6, point 1 (hangs): a worker whose event loop is stuck (a synchronous
// infinite loop) stops answering its node manager's heartbeat probes; past the
// deadline it is SIGKILLed and treated as dead: the task is retried or fails with
// WorkerCrashedError, the actor restarts or dies naming the cause, and resources
// return. This file shortens the deadline through the environment, which the
// embedded head (and so the node manager) inherits.
process.env.TSRAY_HEARTBEAT_MS = "100";
process.env.TSRAY_HEARTBEAT_TIMEOUT_MS = "1000";

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { asyncWait, countLines, hangThenSucceed, Ledger, spinForever } from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil, within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, numGpus: 1, logToDriver: false });

async function allFree(ms: number): Promise<void> {
  await pollUntil(
    async () => {
      const a = await ray.availableResources();
      return a.CPU === 2 && a.GPU === 1;
    },
    ms,
    "every CPU and GPU to be available",
  );
}

describe("hung workers (heartbeat deadline 1 s)", () => {
  test("a task stuck in a sync loop: its worker is killed after the deadline, WorkerCrashedError", async () => {
    const file = tempPath("hang-task", "attempts");
    const t0 = performance.now();
    await assert.rejects(
      within(
        ray.get(spinForever.options({ maxRetries: 1, numGpus: 1 }).remote(file)),
        15_000,
        "the hung task",
      ),
      (err: Error) => {
        assert.ok(err instanceof ray.WorkerCrashedError, `got ${err.constructor.name}: ${err.message}`);
        assert.match(err.message, /2 attempts made/);
        return true;
      },
    );
    const elapsed = performance.now() - t0;
    assert.equal(countLines(file), 2, "it ran twice (maxRetries: 1)");
    assert.ok(elapsed >= 2_000, `two hangs of >= 1 s each, took ${elapsed.toFixed(0)} ms`);
    await allFree(2_000);
  });

  test("a task that hangs once is retried and succeeds", async () => {
    const file = tempPath("hang-once", "attempts");
    assert.equal(await within(ray.get(hangThenSucceed.remote(file, 1)), 15_000, "the retried task"), 2);
  });

  test("an actor stuck in a method restarts (maxRestarts 1); the call fails naming the heartbeat", async () => {
    const a = Ledger.options({ maxRestarts: 1 }).remote(5);
    const pid = await ray.get(a.pid.remote());
    await assert.rejects(within(ray.get(a.hang.remote()), 15_000, "the hung call"), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError, `got ${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /stopped answering heartbeats/);
      assert.match(err.message, /restart 1/);
      return true;
    });
    assert.equal(isAlive(pid), false);
    const info = (await ray.listActors()).find(
      (x) => x.pid !== pid && x.className === "Ledger" && x.restarts === 1,
    );
    assert.ok(info, "the restarted actor is listed");
    assert.match(info.restartCause ?? "", new RegExp(`pid ${pid}\\) stopped answering heartbeats`));
    // The constructor ran again with its original argument.
    assert.equal(await ray.get(a.add.remote(1)), 6);
    // Second hang: no restarts left, DEAD with the cause.
    await assert.rejects(within(ray.get(a.hang.remote()), 15_000, "the second hung call"), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError);
      assert.match(err.message, /is dead: its worker process \(pid \d+\) stopped answering heartbeats/);
      return true;
    });
    await assert.rejects(ray.get(a.get.remote()), ray.ActorDiedError);
    await allFree(2_000);
  });

  test("a worker awaiting for several deadlines keeps answering: an async task is not killed", async () => {
    const [pid, waited] = await within(
      ray.get(asyncWait.options({ maxRetries: 0 }).remote(3_000)),
      15_000,
      "the async task",
    );
    assert.ok(waited >= 3_000);
    assert.ok(isAlive(pid), "its worker is still alive");
  });
});
