// Issue 16, point 5: an error the user code *returned* is a value (get resolves with
// it, on every path a value takes); an error it *threw* is a rejection (get rejects,
// and so does every task that depends on it). Internal failures are always
// rejections: see test/fault-tolerance/head-death.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  Blocker,
  describeArg,
  getNested,
  ReturnedError,
  returnError,
  returnErrorPair,
  throwError,
} from "../fixtures/error-paths.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

const T = { timeout: 60_000 };

describe("a returned error is a value, a thrown one a rejection", () => {
  test("task: a returned error resolves (its class and fields kept); a thrown one rejects with RayTaskError", async () => {
    const v = await ray.get(returnError.remote("as a value"), T);
    assert.ok(v instanceof ReturnedError, `got ${String(v)}`);
    assert.equal(v.message, "as a value");
    assert.equal(v.detail, 7);
    await assert.rejects(ray.get(throwError.remote("raised"), T), (err: Error) => {
      assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}`);
      assert.ok(err instanceof ReturnedError, "the rejection is also the user's class");
      assert.match(err.message, /raised/);
      return true;
    });
  });

  test("task with numReturns 2: a returned error in one slot is that slot's value", async () => {
    const [e, n] = returnErrorPair.remote("slot 0");
    const [ev, nv] = await ray.get([e, n], T);
    assert.ok(ev instanceof RangeError, `got ${String(ev)}`);
    assert.equal(ev.message, "slot 0");
    assert.equal(nv, 5);
  });

  test("actor: a returned error resolves; a thrown one rejects", async () => {
    const a = Blocker.remote();
    const v = await ray.get(a.returnError.remote("from a method"), T);
    assert.ok(v instanceof TypeError, `got ${String(v)}`);
    assert.equal(v.message, "from a method");
    await assert.rejects(ray.get(a.throwError.remote("thrown by a method"), T), ray.RayTaskError);
    assert.equal(await ray.get(a.value.remote(), T), 0, "the actor lives on after a thrown error");
  });

  test("put of an error: get resolves with it", async () => {
    const ref = await ray.put(new ReturnedError("put", 3));
    const v = await ray.get(ref, T);
    assert.ok(v instanceof ReturnedError);
    assert.equal(v.detail, 3);
  });

  test("a returned error passed to a task arrives as a value; a failed object fails the task", async () => {
    const seen = await ray.get(describeArg.remote(returnError.remote("dependency value")), T);
    assert.deepEqual(seen, { isError: true, isReturnedError: true, message: "dependency value" });
    await assert.rejects(
      ray.get(describeArg.remote(throwError.remote("dependency failed")), T),
      (err: Error) => {
        assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}`);
        assert.match(err.message, /dependency failed/);
        return true;
      },
    );
  });

  test("an actor whose constructor argument failed: every call rejects with that error, class kept", async () => {
    const a = Blocker.remote(throwError.remote("constructor argument") as unknown as number);
    for (let i = 0; i < 2; i++) {
      await assert.rejects(ray.get(a.value.remote(), T), (err: Error) => {
        assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}`);
        assert.ok(err instanceof ReturnedError, "still an instance of the user's class");
        assert.match(err.message, /constructor argument/);
        return true;
      });
    }
  });

  test("a borrower's get (nested ref read in a worker): value for a returned error, rejection for a thrown one", async () => {
    const returned = returnError.remote("borrowed value");
    const thrown = throwError.remote("borrowed failure");
    const [a, b] = await ray.get([getNested.remote({ ref: returned }), getNested.remote({ ref: thrown })], T);
    assert.deepEqual(a, { resolved: true, isError: true, message: "borrowed value" });
    assert.equal(b.resolved, false, "get of a failed object rejects in the borrower too");
    assert.equal(b.isError, true);
    assert.match(b.message, /borrowed failure/);
  });
});
