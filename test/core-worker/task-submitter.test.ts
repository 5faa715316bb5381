// The owner's task submitter on its own (no cluster), with a scripted node manager
// and workers: which lease requests are outstanding, cancelled and answered, and
// where tasks are pushed. Races that a cluster hits only under load are replayed
// here in a fixed order.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type TaskOwner, TaskSubmitter } from "../../src/core-worker/task-submitter.js";
import { Msg } from "../../src/protocol/index.js";
import { fakeEndpoint, grant, ScriptedNodeManager, settle, spec } from "./submitter-fakes.js";

const execFileP = promisify(execFile);

test("work queued again while a lease request is being cancelled gets a new request (not the cancelled one)", async () => {
  const nm = new ScriptedNodeManager();
  const { endpoint, workers } = fakeEndpoint();
  const done: number[] = [];
  const owner: TaskOwner = {
    completeReturns: (s) => done.push(s.id),
    failReturns: (s) => assert.fail(`task ${s.id} failed`),
  };
  const sub = new TaskSubmitter(
    endpoint,
    () => nm.conn,
    () => "rt",
    owner,
  );
  try {
    // Two tasks, two lease requests; one grant serves both (the first is fast).
    sub.enqueue(spec(1));
    sub.enqueue(spec(2));
    assert.deepEqual(nm.live(), [1, 2]);
    nm.answer(1, grant(1));
    await settle();
    const w1 = workers.get("addr-1")!;
    assert.deepEqual(w1.pushed, [1]);
    sub.onReply({ t: Msg.TaskDone, id: 1, r: [], us: 10 }, w1.conn);
    assert.deepEqual(w1.pushed, [1, 2], "fast tasks pipeline on the lease held");
    assert.deepEqual(nm.cancelled, [2], "the request no longer needed is cancelled");
    sub.onReply({ t: Msg.TaskDone, id: 2, r: [], us: 10 }, w1.conn);

    // A long task, and one pipelined behind it that the worker hands back.
    sub.enqueue(spec(3));
    sub.enqueue(spec(4));
    assert.deepEqual(w1.pushed, [1, 2, 3, 4]);
    sub.onReturned([4]);
    assert.equal(nm.live().length, 1, "task 4 is queued with no lease free: a lease must be asked for");
    assert.deepEqual(nm.cancelled, [2], "a cancel is sent once");

    // The node manager now answers the cancelled request: the new one stays.
    nm.answer(2, { cancelled: true });
    await settle();
    const [rid] = nm.live();
    assert.ok(rid !== undefined && rid > 2);
    nm.answer(rid, grant(2));
    await settle();
    assert.deepEqual(workers.get("addr-2")?.pushed, [4], "task 4 runs on the second worker");
  } finally {
    sub.close();
  }
  assert.deepEqual(done, [1, 2]);
});

test("a grant that crosses our cancel is used, not leaked", async () => {
  const nm = new ScriptedNodeManager();
  const { endpoint, workers } = fakeEndpoint();
  const owner: TaskOwner = { completeReturns: () => undefined, failReturns: () => undefined };
  const sub = new TaskSubmitter(
    endpoint,
    () => nm.conn,
    () => "rt",
    owner,
  );
  try {
    sub.enqueue(spec(1));
    sub.enqueue(spec(2));
    nm.answer(1, grant(1));
    await settle();
    const w1 = workers.get("addr-1")!;
    sub.onReply({ t: Msg.TaskDone, id: 1, r: [], us: 10 }, w1.conn);
    assert.deepEqual(nm.cancelled, [2]);
    // The node manager had granted request 2 before the cancel reached it.
    nm.answer(2, grant(2));
    await settle();
    sub.enqueue(spec(3));
    sub.enqueue(spec(4));
    const pushedTo2 = workers.get("addr-2")?.pushed ?? [];
    assert.ok(pushedTo2.length > 0, "the crossing grant serves queued work");
  } finally {
    sub.close();
  }
  assert.deepEqual(nm.returned.sort(), [1, 2], "close returns both leases");
});

test("tasks queued when the node manager is gone fail with its error instead of spinning", async () => {
  // In a child process: the bug was a synchronous endless loop, which only a kill stops.
  const fixture = fileURLToPath(new URL("../fixtures/submitter-nm-gone.ts", import.meta.url));
  const { stdout } = await execFileP(process.execPath, ["--import", "tsx", fixture], {
    timeout: 20_000,
    killSignal: "SIGKILL",
  }).catch((err: Error & { killed?: boolean }) => {
    throw err.killed ? new Error("no answer within 20 s: the submitter spins") : err;
  });
  const report = JSON.parse(stdout) as { failed: Array<[number, string]> };
  assert.deepEqual(
    report.failed.map(([id]) => id),
    [1, 2],
  );
  for (const [, message] of report.failed) assert.match(message, /node manager is not reachable/);
});

test("spillback: one request goes to the named node, spilled; the next asks the local node again; cancels follow the request", async () => {
  const nm = new ScriptedNodeManager();
  const nmB = new ScriptedNodeManager();
  const { endpoint, workers } = fakeEndpoint(new Map([["nm-b", nmB]]));
  const runtime = { loader: "none", cwd: "/", jobId: "j", namespace: "ns" } as const;
  const sub = new TaskSubmitter(
    endpoint,
    () => nm.conn,
    () => "rt",
    { completeReturns: () => undefined, failReturns: (s) => assert.fail(`task ${s.id} failed`) },
    undefined,
    () => ({ runtime }),
  );
  const spread = (id: number) =>
    ({ ...spec(id), shapeKey: "CPU:1|SPREAD", strategy: "SPREAD" }) as ReturnType<typeof spec>;
  try {
    sub.enqueue(spread(1));
    sub.enqueue(spread(2));
    assert.deepEqual(nm.live(), [1, 2]);
    assert.equal(nm.asked[0]!.strategy, "SPREAD");
    assert.equal(nm.asked[0]!.spilled, undefined);
    nm.answer(1, grant(1));
    nm.answer(2, { spillback: { nodeId: "b", address: "nm-b" } });
    await settle();
    assert.deepEqual(nmB.live(), [1], "the spilled-back request is sent to node b");
    assert.deepEqual(
      { spilled: nmB.asked[0]!.spilled, strategy: nmB.asked[0]!.strategy, runtime: nmB.asked[0]!.runtime },
      { spilled: true, strategy: "SPREAD", runtime },
    );
    nmB.answer(1, grant(2));
    await settle();
    assert.deepEqual(workers.get("addr-1")?.pushed, [1]);
    assert.deepEqual(workers.get("addr-2")?.pushed, [2]);

    // Both leases busy: the next request goes to the local node, not to b (nothing is sticky).
    sub.enqueue(spread(3));
    assert.deepEqual(nm.live(), [3]);
    assert.deepEqual(nmB.live(), []);
    nm.answer(3, { spillback: { nodeId: "b", address: "nm-b" } });
    await settle();
    assert.deepEqual(nmB.live(), [2]);
    // Task 1 finishes: task 3 takes its lease, and the request out at b is cancelled there.
    sub.onReply({ t: Msg.TaskDone, id: 1, r: [], us: 10 }, workers.get("addr-1")!.conn);
    assert.deepEqual(workers.get("addr-1")?.pushed, [1, 3]);
    assert.deepEqual(nmB.cancelled, [2]);
    assert.deepEqual(nm.cancelled, []);
  } finally {
    sub.close();
  }
  assert.deepEqual(nmB.returned, [2], "the lease from b is returned to b");
});
