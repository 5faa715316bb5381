// Code loading: a worker finds a remote function or actor class by importing its module,
// whose top-level remote() calls register it under the same per-module key. A definition
// that is not at the top level, or is conditional, breaks that: the call must then fail
// at once with an error that says so, never hang.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  afterConditional,
  driverOnly,
  makeInner,
  makeInnerActor,
  topLevel,
} from "../fixtures/misplaced-remote.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

/** Bound on how long a load failure may take to reach the caller (a worker start included). */
const FAIL_MS = 30_000;

/** The error `get` rejects with; a GetTimeoutError (a hang) fails the test. */
async function failure(ref: ray.ObjectRef<unknown>): Promise<Error> {
  try {
    await ray.get(ref, { timeout: FAIL_MS });
  } catch (err) {
    assert.ok(!(err instanceof ray.GetTimeoutError), `the call hung: ${String(err)}`);
    return err as Error;
  }
  throw new assert.AssertionError({ message: "the call succeeded" });
}

describe("remote definitions a worker cannot find", () => {
  test("a top-level definition in the same module loads", async () => {
    assert.equal(await ray.get(topLevel.remote(), { timeout: FAIL_MS }), "top level");
  });

  test("a remote function defined inside a function fails with 'not registered' and the rule", async () => {
    const inner = makeInner();
    const err = await failure(inner.remote(1));
    assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}: ${err.message}`);
    assert.match(
      err.message,
      /remote inner \(#\d+\) was not registered when .*misplaced-remote\.ts was imported/,
    );
    assert.match(err.message, /define remote functions and actor classes at the top level of their module/);
    // The worker's error crosses the wire typed: same class, stable code.
    const cause = (err as ray.RayTaskError).cause;
    assert.ok(cause instanceof ray.RemoteDefinitionError, `cause is ${String(cause)}`);
    assert.equal(cause.code, "REMOTE_DEFINITION_MISMATCH");
  });

  test("a definition after a conditional one is not registered in workers (keys shifted)", async () => {
    const err = await failure(afterConditional.remote());
    assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}: ${err.message}`);
    assert.match(err.message, /remote afterConditional \(#2\) was not registered/);
  });

  test("a conditional definition whose key holds another function fails with 'definitions differ', every time", async () => {
    assert.ok(driverOnly, "the fixture defines driverOnly in the driver");
    // Call until a worker runs it a second time: by then that worker has the module
    // imported, so the lookup takes the fast path, which must not run afterConditional.
    const seen = new Set<number>();
    for (let i = 0; ; i++) {
      assert.ok(i < 20, `no worker ran driverOnly twice in 20 calls (pids ${[...seen]})`);
      const err = await failure(driverOnly.remote());
      assert.ok(err instanceof ray.RayTaskError, `got ${err.constructor.name}: ${err.message}`);
      assert.match(err.message, /remote definitions in .*misplaced-remote\.ts differ between processes/);
      assert.match(err.message, /expected driverOnly at #1, found afterConditional/);
      assert.match(err.message, /define them unconditionally at the module's top level/);
      assert.ok((err as ray.RayTaskError).cause instanceof ray.RemoteDefinitionError, "cause is not typed");
      if (seen.has(err.pid)) break;
      seen.add(err.pid);
    }
  });

  test("an actor class defined inside a function: its calls fail with ActorDiedError saying why", async () => {
    const Inner = makeInnerActor();
    const a = Inner.remote();
    const err = await failure(a.ping.remote());
    assert.ok(err instanceof ray.ActorDiedError, `got ${err.constructor.name}: ${err.message}`);
    assert.match(err.message, /remote InnerActor \(#\d+\) was not registered/);
  });

  test("the workers that failed to load still run well-defined tasks", async () => {
    const values = await ray.get(
      Array.from({ length: 4 }, () => topLevel.remote()),
      { timeout: FAIL_MS },
    );
    assert.deepEqual(values, Array(4).fill("top level"));
  });
});
