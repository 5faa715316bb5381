// Errors: RayTaskError from a task, its cause and class, stable codes, propagation
// to dependent tasks, retrying on exceptions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { QuotaError } from "../fixtures/classes.js";
import { add, readNested, throwOnce, throwQuota, throwTypeError } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, logToDriver: false });

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof Error, `rejected with a non-error: ${String(err)}`);
    return err;
  }
  assert.fail("expected the promise to reject");
}

describe("a task that throws", () => {
  test("surfaces at get as RayTaskError with the remote stack in its message", async () => {
    const err = await rejection(ray.get(throwTypeError.remote("bad input 123")));
    assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}`);
    assert.ok(err instanceof ray.RayError);
    assert.equal((err as ray.RayTaskError).code, "RAY_TASK_ERROR");
    assert.match(err.message, /bad input 123/);
    assert.match(err.message, /Remote traceback/);
    // the remote stack points into the module that defined the task
    assert.match(err.message, /fixtures\/tasks\.ts/);
    const rte = err as ray.RayTaskError;
    assert.match(rte.remoteStack, /TypeError: bad input 123/);
    assert.notEqual(rte.pid, process.pid);
    assert.ok(rte.pid > 0);
  });

  test("cause is the original error and instanceof holds for its class", async () => {
    const err = await rejection(ray.get(throwTypeError.remote("typed")));
    assert.ok(err instanceof TypeError, "a RayTaskError over a TypeError is instanceof TypeError");
    assert.ok(err.cause instanceof TypeError);
    assert.equal((err.cause as Error).message, "typed");
    assert.match(err.name, /RayTaskError/);
  });

  test("a registered user error class comes back as itself, with its fields", async () => {
    const err = await rejection(ray.get(throwQuota.remote(7)));
    assert.ok(err instanceof ray.RayTaskError);
    assert.ok(err instanceof QuotaError, "instanceof the user's registered class");
    const cause = err.cause as QuotaError;
    assert.ok(cause instanceof QuotaError);
    assert.equal(cause.limit, 7);
    assert.equal(cause.message, "over quota 7");
  });

  test("a task depending on a failed object fails with the same error", async () => {
    const failed = throwTypeError.remote("upstream failure");
    const original = await rejection(ray.get(failed));
    const dependent = add.remote(failed as unknown as ray.ObjectRef<number>, 1);
    const downstream = await rejection(ray.get(dependent));
    assert.ok(downstream instanceof ray.RayTaskError);
    assert.ok(downstream instanceof TypeError);
    assert.equal((downstream as ray.RayTaskError).code, "RAY_TASK_ERROR");
    assert.equal(downstream.message, original.message);
    assert.equal((downstream.cause as Error).message, "upstream failure");
    // and further down the chain too
    const further = await rejection(ray.get(add.remote(dependent, 2)));
    assert.equal(further.message, original.message);
  });

  test("a failure propagates to a dependent submitted before the failure happened", async () => {
    const dependent = add.remote(throwTypeError.remote("early") as unknown as ray.ObjectRef<number>, 1);
    const err = await rejection(ray.get(dependent));
    assert.ok(err instanceof ray.RayTaskError);
    assert.match(err.message, /early/);
  });

  test("reading a failed nested ref inside a task fails that task, mentioning the cause", async () => {
    const failed = throwTypeError.remote("nested failure") as unknown as ray.ObjectRef<number>;
    const inner = await ray.put("ok");
    const err = await rejection(ray.get(readNested.remote([failed], { inner })));
    assert.ok(err instanceof ray.RayTaskError);
    assert.match(err.message, /nested failure/);
  });

  test("without retryExceptions a throwing task runs once", async () => {
    const marker = tempPath("throw-once");
    const err = await rejection(ray.get(throwOnce.remote(marker)));
    assert.match(err.message, /first attempt fails/);
  });

  test("retryExceptions: true retries a task that threw", async () => {
    const marker = tempPath("throw-once");
    const ok = throwOnce.options({ retryExceptions: true, maxRetries: 2 }).remote(marker);
    assert.equal(await ray.get(ok), "second attempt ok");
  });

  test("retryExceptions with class names retries only those classes", async () => {
    const marker = tempPath("throw-once");
    const notListed = throwOnce.options({ retryExceptions: ["TypeError"], maxRetries: 2 }).remote(marker);
    await assert.rejects(ray.get(notListed), /first attempt fails/);
    const marker2 = tempPath("throw-once");
    const listed = throwOnce.options({ retryExceptions: ["Error"], maxRetries: 2 }).remote(marker2);
    assert.equal(await ray.get(listed), "second attempt ok");
  });
});

describe("error classes", () => {
  const expected: Array<[string, string]> = [
    ["RayError", "RAY_ERROR"],
    ["RayTaskError", "RAY_TASK_ERROR"],
    ["RayActorError", "RAY_ACTOR_ERROR"],
    ["ActorDiedError", "ACTOR_DIED"],
    ["GetTimeoutError", "GET_TIMEOUT"],
    ["ObjectLostError", "OBJECT_LOST"],
    ["OwnerDiedError", "OWNER_DIED"],
    ["ObjectStoreFullError", "OBJECT_STORE_FULL"],
    ["WorkerCrashedError", "WORKER_CRASHED"],
    ["TaskCancelledError", "TASK_CANCELLED"],
    ["NodeDiedError", "NODE_DIED"],
    ["InfeasibleResourcesError", "INFEASIBLE_RESOURCES"],
    ["SerializationError", "SERIALIZATION_ERROR"],
  ];

  test("are exported, extend RayError and carry stable string codes", () => {
    const exported = ray as unknown as Record<string, new (m: string) => ray.RayError>;
    for (const [name, code] of expected) {
      const Class = exported[name];
      assert.equal(typeof Class, "function", `${name} is not exported`);
      const err = new Class!("m");
      assert.ok(err instanceof ray.RayError, `${name} does not extend RayError`);
      assert.ok(err instanceof Error);
      assert.equal(err.code, code, `${name}.code`);
      assert.equal(err.name, name);
    }
  });

  test("the default export carries the same classes", async () => {
    const mod = await import("tsray");
    assert.equal(mod.default.RayTaskError, ray.RayTaskError);
    assert.equal(mod.default.WorkerCrashedError, ray.WorkerCrashedError);
    assert.equal(mod.default.get, ray.get);
  });

  test("subclass relations follow Ray's", () => {
    assert.ok(new ray.ActorDiedError("x") instanceof ray.RayActorError);
    assert.ok(new ray.OwnerDiedError("x") instanceof ray.ObjectLostError);
    assert.ok(!(new ray.GetTimeoutError("x") instanceof ray.RayTaskError));
  });
});
