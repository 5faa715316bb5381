// Issue 6, point 2 (SPEC 15): a task whose worker dies is retried up to maxRetries
// (default 3, -1 forever); retryExceptions (false | true | class names) retries
// application errors from the same budget; after the budget, WorkerCrashedError
// saying how many attempts were made (or the task's own error for exceptions).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { countLines, crashThenThrow, FatalError, flaky, TransientError } from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, logToDriver: false });

function expectCrashed(attempts: number, maxRetries: number) {
  return (err: Error) => {
    assert.ok(err instanceof ray.WorkerCrashedError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal((err as ray.WorkerCrashedError).code, "WORKER_CRASHED");
    assert.match(err.message, new RegExp(`${attempts} attempts? made \\(maxRetries=${maxRetries}\\)`));
    return true;
  };
}

describe("task retries on worker death", () => {
  test("default maxRetries is 3: 4 attempts, then WorkerCrashedError saying so", async () => {
    const file = tempPath("default-budget", "attempts");
    await assert.rejects(
      ray.get(flaky.remote(file, 100, "sigkill"), { timeout: 60_000 }),
      expectCrashed(4, 3),
    );
    assert.equal(countLines(file), 4);
  });

  test("maxRetries: 2 with process.exit: 3 attempts", async () => {
    const file = tempPath("budget-2", "attempts");
    const ref = flaky.options({ maxRetries: 2 }).remote(file, 100, "exit");
    await assert.rejects(ray.get(ref, { timeout: 60_000 }), expectCrashed(3, 2));
    assert.equal(countLines(file), 3);
  });

  test("maxRetries: -1 retries until it succeeds (here: 6 crashes, success on attempt 7)", async () => {
    const file = tempPath("budget-inf", "attempts");
    const n = await ray.get(flaky.options({ maxRetries: -1 }).remote(file, 6, "sigkill"), {
      timeout: 60_000,
    });
    assert.equal(n, 7);
    assert.equal(countLines(file), 7);
  });

  test("a crash within the budget is invisible to the caller", async () => {
    const file = tempPath("within", "attempts");
    assert.equal(await ray.get(flaky.remote(file, 3, "exit"), { timeout: 60_000 }), 4);
  });
});

describe("retryExceptions", () => {
  test("false (default): an application error is not retried", async () => {
    const file = tempPath("re-false", "attempts");
    await assert.rejects(ray.get(flaky.remote(file, 1, "transient")), (err: Error) => {
      assert.ok(err instanceof ray.RayTaskError);
      assert.ok(err instanceof TransientError, "the user's class survives");
      return true;
    });
    assert.equal(countLines(file), 1);
  });

  test("true: any application error is retried within maxRetries", async () => {
    const file = tempPath("re-true", "attempts");
    const ok = flaky.options({ retryExceptions: true, maxRetries: 3 }).remote(file, 2, "fatal");
    assert.equal(await ray.get(ok), 3);
    const file2 = tempPath("re-true-spent", "attempts");
    const spent = flaky.options({ retryExceptions: true, maxRetries: 2 }).remote(file2, 100, "fatal");
    await assert.rejects(ray.get(spent), FatalError);
    assert.equal(countLines(file2), 3, "1 run + 2 retries");
  });

  test("a list retries only the named classes", async () => {
    const listed = tempPath("re-list-yes", "attempts");
    const opts = { retryExceptions: ["TransientError"], maxRetries: 5 };
    assert.equal(await ray.get(flaky.options(opts).remote(listed, 4, "transient")), 5);
    const unlisted = tempPath("re-list-no", "attempts");
    await assert.rejects(ray.get(flaky.options(opts).remote(unlisted, 4, "fatal")), FatalError);
    assert.equal(countLines(unlisted), 1, "FatalError is not in the list");
  });

  test("a list with maxRetries: -1 retries a listed error until success", async () => {
    const file = tempPath("re-inf", "attempts");
    const ref = flaky
      .options({ retryExceptions: ["TransientError"], maxRetries: -1 })
      .remote(file, 8, "transient");
    assert.equal(await ray.get(ref, { timeout: 60_000 }), 9);
  });

  test("crashes and listed exceptions share one budget", async () => {
    const file = tempPath("shared", "attempts");
    const ref = crashThenThrow.options({ retryExceptions: ["TransientError"], maxRetries: 3 }).remote(file);
    await assert.rejects(ray.get(ref, { timeout: 60_000 }), TransientError);
    assert.equal(countLines(file), 4, "crash, throw, crash, throw: 4 attempts for maxRetries 3");
  });
});
