// Issue 6, point 1 (hangs): a worker whose event loop is stuck (a synchronous
// infinite loop) stops answering its node manager's heartbeat probes; past the
// deadline it is SIGKILLed and treated as dead: the task is retried or fails with
// WorkerCrashedError, the actor restarts or dies naming the cause, and resources
// return. This file shortens the deadline through the environment, which the
// embedded head (and so the node manager) inherits.
process.env.TSRAY_HEARTBEAT_MS = "100"; // PERIOD_MS below
process.env.TSRAY_HEARTBEAT_TIMEOUT_MS = "1000"; // DEADLINE_MS below

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { asyncWait, attemptLog, hangThenSucceed, Ledger, spinForever } from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil, within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, numGpus: 1, logToDriver: false });

const PERIOD_MS = 100;
const DEADLINE_MS = 1_000;
/**
 * Latest a hang may be noticed after it began: a probe goes out at the first tick
 * after the event loop stops (<= one period), it is overdue once the deadline has
 * passed, and the kill happens at the first tick after that (<= one more period).
 * LOAD_MARGIN_MS covers timers firing late and the kill, exit and error reaching
 * the driver on a loaded 2-core machine. A detector that waited for a second
 * deadline, or re-armed its probe late, fails this.
 */
const LOAD_MARGIN_MS = 2_000;
const LATEST_MS = DEADLINE_MS + 2 * PERIOD_MS + LOAD_MARGIN_MS;

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
    let failedAt = 0;
    await assert.rejects(
      within(
        ray.get(spinForever.options({ maxRetries: 1, numGpus: 1 }).remote(file)).finally(() => {
          failedAt = Date.now();
        }),
        15_000,
        "the hung task",
      ),
      (err: Error) => {
        assert.ok(err instanceof ray.WorkerCrashedError, `got ${err.constructor.name}: ${err.message}`);
        assert.match(err.message, /2 attempts made/);
        return true;
      },
    );
    const attempts = attemptLog(file);
    assert.equal(attempts.length, 2, "it ran twice (maxRetries: 1)");
    assert.notEqual(attempts[0]!.pid, attempts[1]!.pid, "the retry ran in another worker");
    // The first hang ended (killed) before the retry started; the second hang's kill failed the task.
    const firstHang = attempts[1]!.at - attempts[0]!.at;
    const secondHang = failedAt - attempts[1]!.at;
    assert.ok(firstHang >= DEADLINE_MS, `the first hang was cut after ${firstHang} ms`);
    assert.ok(
      secondHang >= DEADLINE_MS && secondHang <= LATEST_MS,
      `the second hang was noticed after ${secondHang} ms (expected ${DEADLINE_MS} to ${LATEST_MS})`,
    );
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
      assert.match(err.message, /restart 1/);
      // The node manager's own measure: how long the probe had been unanswered when it killed.
      const overdue = Number(/stopped answering heartbeats for (\d+) ms/.exec(err.message)?.[1]);
      assert.ok(
        overdue > DEADLINE_MS && overdue <= DEADLINE_MS + PERIOD_MS + LOAD_MARGIN_MS,
        `killed after its probe was unanswered for ${overdue} ms: ${err.message}`,
      );
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
      const overdue = Number(/stopped answering heartbeats for (\d+) ms/.exec(err.message)?.[1]);
      assert.ok(
        overdue > DEADLINE_MS && overdue <= DEADLINE_MS + PERIOD_MS + LOAD_MARGIN_MS,
        `killed after its probe was unanswered for ${overdue} ms: ${err.message}`,
      );
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
    // libuv measures timers from its cached loop time, which can lag the wall clock a
    // millisecond or two when setTimeout is called: the timer may end slightly early.
    assert.ok(waited >= 2_990, `waited ${waited} ms`);
    assert.ok(isAlive(pid), "its worker is still alive");
  });
});
