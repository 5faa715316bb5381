// A real multi-node cluster on loopback (issue 10): a head and a worker node as
// separate processes with their own session directories and stores, joined over TCP
// with the cluster secret. Tasks and actors go where their resources are (spillback,
// placement), objects cross nodes both ways, a killed node is declared dead, and
// shutdown leaves no process or directory behind.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ray from "tsray";
import { Cluster, type ClusterNode } from "tsray/testing";
import { stopNodes } from "../helpers/cluster.js";

// The head declares a silent node dead after 2 s (the default is 10 s).
process.env.TSRAY_NODE_DEATH_TIMEOUT_MS = "2000";
process.env.TSRAY_NODE_HEARTBEAT_MS = "200";

const whereAmI = ray.remote(() => ({ node: process.env.TSRAY_NODE_ID ?? "", pid: process.pid }));
const lengthOf = ray.remote((a: Float64Array) => a.length);
// Resolving a handle it was passed asks the control store (the head) where the actor is.
const callIncr = ray.remote(async (b: ray.ActorHandle<{ incr(): number }>) => {
  const { get } = await import("tsray");
  return get(b.incr.remote());
});

class Box {
  n = 0;
  incr(): number {
    return ++this.n;
  }
  node(): string {
    return process.env.TSRAY_NODE_ID ?? "";
  }
  pid(): number {
    return process.pid;
  }
  big(): Float64Array {
    return new Float64Array(1 << 17).fill(7);
  }
  sum(a: Float64Array): number {
    return a.reduce((x, y) => x + y, 0);
  }
}
const RemoteBox = ray.remote(Box);

describe("two nodes on loopback", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let worker: ClusterNode;
  const pids = new Set<number>();

  before(async () => {
    cluster = await Cluster.start({ head: { numCpus: 1 } });
    worker = await cluster.addNode({ numCpus: 2, resources: { special: 2 } });
    await cluster.waitForNodes(2);
    for (const n of cluster.nodes) pids.add(n.pid);
  });

  after(() => stopNodes(cluster, pids));

  test("a driver on the head sees both nodes and their resources", async () => {
    await ray.init({ address: cluster.address });
    const nodes = await ray.nodes();
    assert.deepEqual(
      nodes.map((n) => n.alive),
      [true, true],
    );
    const total = (await ray.clusterResources()) as Record<string, number>;
    assert.equal(total.CPU, 3);
    assert.equal(total.special, 2);
  });

  test("a task needing a resource only the worker node has runs there (spillback)", async () => {
    // Pinned to the head (DEFAULT would spread a plain task: the 1-CPU head is past the threshold).
    const head = cluster.nodes[0]!.nodeId;
    const here = await ray.get(whereAmI.options({ schedulingStrategy: { nodeId: head } }).remote());
    const there = await ray.get(whereAmI.options({ resources: { special: 1 } }).remote());
    pids.add(here.pid).add(there.pid);
    assert.equal(there.node, worker.nodeId);
    assert.equal(here.node, head);
  });

  test("an actor needing that resource is placed on the worker node; calls and objects cross", async () => {
    const box = RemoteBox.options({ resources: { special: 1 } }).remote();
    assert.equal(await ray.get(box.node.remote()), worker.nodeId);
    pids.add(await ray.get(box.pid.remote()));
    assert.equal(await ray.get(box.incr.remote()), 1);
    // A large return stored on the other node comes back; a large put here reaches it.
    const big = await ray.get(box.big.remote());
    assert.equal(big.length, 1 << 17);
    assert.equal(big[100], 7);
    const mine = await ray.put(new Float64Array(1 << 17).fill(2));
    assert.equal(await ray.get(box.sum.remote(mine)), 2 * (1 << 17));
    assert.equal(await ray.get(lengthOf.options({ resources: { special: 1 } }).remote(mine)), 1 << 17);
  });

  test("a task on the worker node calls an actor on the head through a handle it was passed", async () => {
    const box = RemoteBox.remote();
    assert.notEqual(await ray.get(box.node.remote()), worker.nodeId);
    pids.add(await ray.get(box.pid.remote()));
    assert.equal(await ray.get(callIncr.options({ resources: { special: 1 } }).remote(box)), 1);
  });

  test("a demand no node can meet fails at once, naming what is missing", async () => {
    await assert.rejects(ray.get(whereAmI.options({ resources: { nowhere: 1 } }).remote()), (err: Error) => {
      assert.equal((err as { code?: string }).code, "INFEASIBLE_RESOURCES");
      assert.match(err.message, /needs 1 nowhere, cluster has 0/);
      return true;
    });
  });

  test("a driver can join through the worker node itself", async () => {
    await ray.shutdown();
    await ray.init({ address: worker.address });
    const r = await ray.get(whereAmI.remote());
    pids.add(r.pid);
    assert.equal(r.node, worker.nodeId);
    assert.equal((await ray.nodes()).length, 2);
    await ray.shutdown();
  });

  test("tsray start --address of a node that is not the head is refused, saying so", async () => {
    const root = mkdtempSync(join(tmpdir(), "tsray-join-"));
    try {
      const token = readFileSync(join(cluster.nodes[0]!.sessionDir, "secret"), "utf8").trim();
      const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
      const env: NodeJS.ProcessEnv = { ...process.env, TSRAY_SESSION_ROOT: root };
      delete env.NODE_TEST_CONTEXT;
      const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [cli, "start", "--address", worker.address, "--token", token, "--bind", "127.0.0.1"],
          { env, timeout: 60_000 },
          (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr }),
        ),
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /is not a tsray head/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a killed node is declared dead and leaves the cluster's resources", async () => {
    const extra = await cluster.addNode({ numCpus: 1, resources: { doomed: 1 } });
    pids.add(extra.pid);
    await cluster.waitForNodes(3);
    await cluster.killNode(extra);
    await cluster.waitForNodes(2, 15_000);
    const table = await cluster.nodeTable();
    assert.equal(table.find((n) => n.nodeId === extra.nodeId)?.alive, false);
  });
});
