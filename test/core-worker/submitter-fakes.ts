// Scripted stand-ins for the task submitter's collaborators (node manager, leased
// workers) and a minimal task spec, shared by its unit tests and their child-process
// fixture.
import assert from "node:assert/strict";
import type { TaskSpec } from "../../src/core-worker/task-spec.js";
import {
  type LeaseGrant,
  type Message,
  Msg,
  type PushTask,
  type RequestLease,
} from "../../src/protocol/index.js";
import type { Connection, Endpoint } from "../../src/transport/index.js";

type Answer = LeaseGrant | { cancelled: true } | { spillback: { nodeId: string; address: string } };

/** A node manager that answers lease requests only when the test says so. */
export class ScriptedNodeManager {
  private nextRid = 1;
  readonly open = new Map<number, (a: Answer) => void>();
  readonly cancelled: number[] = [];
  /** Lease ids handed back with ReturnLease. */
  readonly returned: number[] = [];
  /** Every RequestLease received, in order. */
  readonly asked: RequestLease[] = [];
  readonly conn = {
    isClosed: false,
    peekNextRid: () => this.nextRid,
    request: (msg: Message) => {
      assert.equal(msg.t, Msg.RequestLease);
      this.asked.push(msg as RequestLease);
      const rid = this.nextRid++;
      return new Promise<Answer>((resolve) => this.open.set(rid, resolve));
    },
    send: (msg: Message) => {
      if (msg.t === Msg.CancelLeaseRequest) this.cancelled.push(msg.req);
      if (msg.t === Msg.ReturnLease) this.returned.push(msg.leaseId);
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
export function fakeWorker(address: string): { conn: Connection; pushed: number[] } {
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

/**
 * An endpoint whose connect() makes a fake worker per address (`workers` has them by
 * address), or returns the scripted node manager at an address of `nodeManagers`.
 */
export function fakeEndpoint(nodeManagers: ReadonlyMap<string, ScriptedNodeManager> = new Map()): {
  endpoint: Endpoint;
  workers: Map<string, ReturnType<typeof fakeWorker>>;
} {
  const workers = new Map<string, ReturnType<typeof fakeWorker>>();
  const endpoint = {
    connect: async (address: string) => {
      const nm = nodeManagers.get(address);
      if (nm) return nm.conn;
      const w = fakeWorker(address);
      workers.set(address, w);
      return w.conn;
    },
  } as unknown as Endpoint;
  return { endpoint, workers };
}

export function grant(n: number): LeaseGrant {
  return { leaseId: n, workerId: `w${n}`, address: `addr-${n}`, pid: 1000 + n, gpuIds: [] };
}

export function spec(id: number): TaskSpec {
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
export const settle = () => new Promise<void>((r) => setImmediate(r));
