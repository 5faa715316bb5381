// The node manager as the shell around the lease scheduler: real sockets, real
// messages, a real object store, and an in-memory worker pool whose workers the test
// plays (it registers them over a socket and makes them exit).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { RuntimeUnavailableError } from "../../src/errors/index.js";
import { InMemoryWorkerPool, NodeManager } from "../../src/node-manager/index.js";
import { type LeaseGrant, type Message, Msg, type RuntimeEnv } from "../../src/protocol/index.js";
import { errorCodec } from "../../src/serialization/index.js";
import { type Connection, Endpoint } from "../../src/transport/index.js";
import { pollUntil, within } from "../helpers/processes.js";
import { removeTempDirs, tempDir } from "../helpers/temp.js";

interface Exit {
  workerId: string;
  pid: number;
  code: number | null;
  signal: string | null;
  reason: string | undefined;
}

interface Node {
  nm: NodeManager;
  pool: InMemoryWorkerPool;
  ep: Endpoint;
  exits: Exit[];
  runtime: RuntimeEnv;
}

/** The session secret every endpoint of the test proves in its handshake. */
const SECRET = randomBytes(32);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
after(removeTempDirs);

async function startNode(cpus: number): Promise<Node> {
  const dir = tempDir("lease-shell");
  const runtime: RuntimeEnv = { loader: "none", cwd: dir, jobId: "job", namespace: "ns" };
  const ep = new Endpoint("node", (m, c) => node.nm.handle(m, c), errorCodec, SECRET);
  await ep.listen(join(dir, "node.sock"));
  let pool: InMemoryWorkerPool | undefined;
  const exits: Exit[] = [];
  const nm = new NodeManager(
    {
      address: ep.listenAddress,
      sessionDir: dir,
      resources: { CPU: cpus },
      logToDriver: false,
      isHead: true,
      prestartRuntime: runtime,
      objectStoreMemory: 1 << 20,
      workerPool: (_ctx, events) => {
        pool = new InMemoryWorkerPool(events);
        return pool;
      },
    },
    {
      registerNode: () => undefined,
      heartbeat: () => undefined,
      nodeTotals: () => [{ CPU: cpus }],
      nodes: () => [],
      workerExited: (workerId, pid, code, signal, reason) =>
        exits.push({ workerId, pid, code, signal, reason }),
    },
  );
  const node: Node = { nm, pool: pool!, ep, exits, runtime };
  ep.onPeer = (conn) => conn.onClose(() => nm.onDisconnect(conn));
  cleanups.push(async () => {
    await nm.stop();
    ep.close();
  });
  return node;
}

/** A peer process played by the test: its own endpoint, connected to the node. */
async function peer(node: Node, id: string): Promise<{ ep: Endpoint; conn: Connection }> {
  const ep = new Endpoint(id, (m: Message) => (m.t === Msg.WorkerPing ? {} : undefined), errorCodec, SECRET);
  await ep.listen(join(tempDir("lease-shell-peer"), `${id}.sock`));
  cleanups.push(() => ep.close());
  const conn = await within(ep.connect(node.ep.listenAddress), 5000, `${id} connecting to the node`);
  return { ep, conn };
}

async function registerWorker(node: Node, workerId: string): Promise<string> {
  const w = await peer(node, workerId);
  const pid = node.pool.workers.get(workerId)!.pid;
  await w.conn.request({ t: Msg.RegisterWorker, workerId, pid, address: w.ep.listenAddress });
  return w.ep.listenAddress;
}

async function owner(node: Node, id: string): Promise<{ conn: Connection; runtimeKey: string }> {
  const o = await peer(node, id);
  const reply = await o.conn.request({
    t: Msg.RegisterDriver,
    jobId: "job",
    runtime: node.runtime,
    embedded: false,
  });
  return { conn: o.conn, runtimeKey: reply.runtimeKey };
}

describe("NodeManager leases over real sockets (in-memory worker pool)", () => {
  test("a registered worker is granted to the owner; when the owner disconnects it is killed and replaced", async () => {
    const node = await startNode(1);
    const [first] = node.pool.started;
    assert.ok(first, "the prestart runtime started one worker per CPU");
    const address = await registerWorker(node, first.workerId);
    const o = await owner(node, "owner");
    const grant = (await within(
      o.conn.request({ t: Msg.RequestLease, demand: { CPU: 1 }, runtimeKey: o.runtimeKey }),
      5000,
      "the lease grant",
    )) as LeaseGrant;
    assert.deepEqual(
      { ...grant, leaseId: typeof grant.leaseId },
      { leaseId: "number", workerId: first.workerId, address, pid: first.pid, gpuIds: [] },
    );
    assert.equal(node.nm.view().workers.find((w) => w.workerId === first.workerId)?.state, "leased");
    assert.equal(node.nm.resources.available.CPU, 0);

    o.conn.destroy();
    await pollUntil(() => node.exits.length === 1, 5000, "the leased worker's exit");
    assert.deepEqual(node.exits[0], {
      workerId: first.workerId,
      pid: first.pid,
      code: null,
      signal: "SIGKILL",
      reason: undefined,
    });
    assert.equal(node.nm.resources.available.CPU, 1, "the lease's CPU came back");
    assert.equal(node.pool.started.length, 2, "the task pool was refilled");
    assert.equal(node.pool.started[1]!.runtimeKey, first.runtimeKey);
  });

  test("workers that keep dying before they register fail the owner's request with RuntimeUnavailableError", async () => {
    const node = await startNode(1);
    const o = await owner(node, "owner");
    const pending = o.conn.request({ t: Msg.RequestLease, demand: { CPU: 1 }, runtimeKey: o.runtimeKey });
    const rejected = assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof RuntimeUnavailableError, `got ${String(err)}`);
      assert.equal(err.code, "RUNTIME_UNAVAILABLE");
      assert.match(
        err.message,
        /cannot start a worker: worker processes exit before starting \(last: code 1/,
      );
      return true;
    });
    // The owner's request is in once its reply could come (the node answers in order).
    await o.conn.request({ t: Msg.GetNodeResources });
    for (let i = 0; i < 3; i++) {
      const w = await pollUntil(() => [...node.pool.workers.values()][0], 5000, `start attempt ${i + 1}`);
      node.pool.exit(w.workerId, 1, null);
    }
    await within(rejected, 5000, "the rejection");
    await assert.rejects(
      o.conn.request({ t: Msg.RequestLease, demand: { CPU: 1 }, runtimeKey: o.runtimeKey }),
      /unknown runtime/,
      "the failed runtime is gone until a driver registers it again",
    );
  });

  test("a worker that does not register in time is killed, and its exit names why", async () => {
    const node = await startNode(1);
    const [first] = node.pool.started;
    node.pool.timeOutStart(first!.workerId);
    await pollUntil(() => node.exits.length === 1, 5000, "the exit of the worker killed for not registering");
    assert.equal(node.exits[0]!.reason, "did not register in time and was killed");
    assert.equal(node.exits[0]!.signal, "SIGKILL");
  });
});
