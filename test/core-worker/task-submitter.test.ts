// The owner's task submitter on its own (no cluster), with a scripted node manager
// and workers: which lease requests are outstanding, cancelled and answered, and
// where tasks are pushed. Races that a cluster hits only under load are replayed
// here in a fixed order.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskSpec } from "../../src/core-worker/task-spec.js";
import { type TaskOwner, TaskSubmitter } from "../../src/core-worker/task-submitter.js";
import { type LeaseGrant, type Message, Msg, type PushTask } from "../../src/protocol/index.js";
import type { Connection, Endpoint } from "../../src/transport/index.js";

type Answer = LeaseGrant | { cancelled: true };

/** A node manager that answers lease requests only when the test says so. */
class ScriptedNodeManager {
  private nextRid = 1;
  readonly open = new Map<number, (a: Answer) => void>();
  readonly cancelled: number[] = [];
  readonly conn = {
    peekNextRid: () => this.nextRid,
    request: (msg: Message) => {
      assert.equal(msg.t, Msg.RequestLease);
      const rid = this.nextRid++;
      return new Promise<Answer>((resolve) => this.open.set(rid, resolve));
    },
    send: (msg: Message) => {
      if (msg.t === Msg.CancelLeaseRequest) this.cancelled.push(msg.req);
    },
  } as unknown as Connection;

  /** rids asked for and neither answered nor cancelled. */
  live(): number[] {
    return [...this.open.keys()].filter((rid) => !this.cancelled.includes(rid));
  }

  answer(rid: number, a: Answer): void {
    const resolve = this.open.get(rid);
    assert.ok(resolve, `request ${rid} is not open`);
    this.open.delete(rid);
    resolve(a);
  }
}

/** A leased worker: records the tasks pushed to it. */
function fakeWorker(address: string): { conn: Connection; pushed: number[] } {
  const pushed: number[] = [];
  const conn = {
    peerAddress: address,
    peerId: address,
    state: new Map<string, unknown>(),
    send: (msg: Message) => {
      if (msg.t === Msg.PushTask) pushed.push((msg as PushTask).id);
    },
    onClose: () => undefined,
  } as unknown as Connection;
  return { conn, pushed };
}

function grant(n: number): LeaseGrant {
  return { leaseId: n, workerId: `w${n}`, address: `addr-${n}`, pid: 1000 + n, gpuIds: [] };
}

function spec(id: number): TaskSpec {
  return {
    id,
    desc: { module: "m", name: "f", key: "f" },
    descKey: "m#f",
    args: [],
    deps: undefined,
    ret: id,
    returnIds: [`o/${id}`],
    demand: { CPU: 1 },
    shapeKey: "CPU:1",
    maxRetries: 0,
    retryExceptions: false,
    lentEntries: undefined,
    pendingDeps: 0,
    attempt: 0,
    crashes: 0,
    label: undefined,
  } as unknown as TaskSpec;
}

/** Lets promise callbacks (grants, connects) run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

test("work queued again while a lease request is being cancelled gets a new request (not the cancelled one)", async () => {
  const nm = new ScriptedNodeManager();
  const workers = new Map<string, ReturnType<typeof fakeWorker>>();
  const endpoint = {
    connect: async (address: string) => {
      const w = fakeWorker(address);
      workers.set(address, w);
      return w.conn;
    },
  } as unknown as Endpoint;
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
    const w1conn = w1.conn;
    sub.onReply({ t: Msg.TaskDone, id: 1, r: [], us: 10 }, w1conn);
    assert.deepEqual(w1.pushed, [1, 2], "fast tasks pipeline on the lease held");
    assert.deepEqual(nm.cancelled, [2], "the request no longer needed is cancelled");
    sub.onReply({ t: Msg.TaskDone, id: 2, r: [], us: 10 }, w1conn);

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
  const workers = new Map<string, ReturnType<typeof fakeWorker>>();
  const endpoint = {
    connect: async (address: string) => {
      const w = fakeWorker(address);
      workers.set(address, w);
      return w.conn;
    },
  } as unknown as Endpoint;
  const owner: TaskOwner = { completeReturns: () => undefined, failReturns: () => undefined };
  const returned: number[] = [];
  const nmConn = nm.conn as unknown as { send: (m: Message) => void };
  const send = nmConn.send;
  nmConn.send = (m) => {
    if (m.t === Msg.ReturnLease) returned.push(m.leaseId);
    send(m);
  };
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
  assert.deepEqual(returned.sort(), [1, 2], "close returns both leases");
});
