// The task submitter on an injected FakeClock: an idle lease is returned exactly
// TSRAY_LEASE_IDLE_MS of fake time after its last task, and work arriving in that
// window keeps it; no real time passes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { config } from "../../src/config/index.js";
import { type TaskOwner, TaskSubmitter } from "../../src/core-worker/task-submitter.js";
import { Msg } from "../../src/protocol/index.js";
import { FakeClock } from "../../src/util/clock.js";
import { fakeEndpoint, grant, ScriptedNodeManager, settle, spec } from "./submitter-fakes.js";

test("an idle lease is returned after leaseIdleMs of fake time, and not before; new work keeps it", async () => {
  const idleMs = config().leaseIdleMs;
  const clock = new FakeClock(1_000);
  const nm = new ScriptedNodeManager();
  const { endpoint, workers } = fakeEndpoint();
  const owner: TaskOwner = {
    completeReturns: () => undefined,
    failReturns: (s) => assert.fail(`task ${s.id}`),
  };
  const sub = new TaskSubmitter(
    endpoint,
    () => nm.conn,
    () => "rt",
    owner,
    clock,
  );
  try {
    sub.enqueue(spec(1));
    nm.answer(1, grant(1));
    await settle();
    const w1 = workers.get("addr-1")!;
    assert.deepEqual(w1.pushed, [1]);
    sub.onReply({ t: Msg.TaskDone, id: 1, r: [], us: 10 }, w1.conn);
    await clock.advance(idleMs - 1);
    assert.deepEqual(nm.returned, [], "still within the idle window");
    // Work of the same shape in the window reuses the lease and restarts the window.
    sub.enqueue(spec(2));
    assert.deepEqual(w1.pushed, [1, 2]);
    sub.onReply({ t: Msg.TaskDone, id: 2, r: [], us: 10 }, w1.conn);
    await clock.advance(idleMs - 1);
    assert.deepEqual(nm.returned, [], "the window restarted with task 2");
    await clock.advance(1);
    assert.deepEqual(nm.returned, [1], "returned exactly leaseIdleMs after it became idle");
  } finally {
    sub.close();
  }
});
