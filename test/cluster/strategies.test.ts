// Scheduling strategies on a real two-node cluster (issue 10 point 4): SPREAD puts
// concurrent tasks on both nodes where DEFAULT packs the local one, hard node affinity
// pins tasks and actors, soft affinity to an unknown or dead node still runs, label
// selectors pick the node, and what no live node can meet fails naming what is missing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ray from "tsray";
import { Cluster, type ClusterNode } from "tsray/testing";
import { meetThenNode, NodeProbe, nodeOf, Rendezvous } from "../fixtures/placement.js";
import { stopNodes } from "../helpers/cluster.js";

// The head declares a silent node dead after 2 s (the default is 10 s).
process.env.TSRAY_NODE_DEATH_TIMEOUT_MS = "2000";
process.env.TSRAY_NODE_HEARTBEAT_MS = "200";

const GET = { timeout: 60_000 };

function infeasible(...patterns: RegExp[]) {
  return (err: Error) => {
    assert.equal((err as { code?: string }).code, "INFEASIBLE_RESOURCES", err.message);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

describe("scheduling strategies on two nodes", { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let head: ClusterNode;
  let worker: ClusterNode;
  const pids = new Set<number>();

  before(async () => {
    cluster = await Cluster.start({ head: { numCpus: 4, labels: { zone: "a" } } });
    worker = await cluster.addNode({ numCpus: 4, labels: { zone: "b", disk: "ssd" } });
    await cluster.waitForNodes(2);
    head = cluster.nodes[0]!;
    for (const n of cluster.nodes) pids.add(n.pid);
    await ray.init({ address: cluster.address });
  });

  after(() => stopNodes(cluster, pids));

  test("nodes report their labels", async () => {
    const byId = new Map((await ray.nodes()).map((n) => [n.nodeId, n.labels]));
    assert.deepEqual(byId.get(head.nodeId), { zone: "a" });
    assert.deepEqual(byId.get(worker.nodeId), { zone: "b", disk: "ssd" });
  });

  test("DEFAULT packs two concurrent tasks on the local node (under the spread threshold)", async () => {
    const r = Rendezvous.remote();
    const where = await ray.get([meetThenNode.remote(r, 2), meetThenNode.remote(r, 2)], GET);
    assert.deepEqual(where, [head.nodeId, head.nodeId]);
  });

  test("SPREAD puts two concurrent tasks on both nodes", async () => {
    const r = Rendezvous.remote();
    const spread = meetThenNode.options({ schedulingStrategy: "SPREAD" });
    const where = await ray.get([spread.remote(r, 2), spread.remote(r, 2)], GET);
    assert.deepEqual(new Set(where), new Set([head.nodeId, worker.nodeId]));
  });

  test("hard node affinity pins tasks to the named node, either way", async () => {
    for (const n of [worker, head]) {
      const pinned = nodeOf.options({ schedulingStrategy: { nodeId: n.nodeId } });
      const where = await ray.get(
        [1, 2, 3, 4].map(() => pinned.remote()),
        GET,
      );
      assert.deepEqual(where, [n.nodeId, n.nodeId, n.nodeId, n.nodeId]);
    }
  });

  test("hard node affinity pins an actor; SPREAD actors go to both nodes", async () => {
    const a = NodeProbe.options({ schedulingStrategy: { nodeId: worker.nodeId, soft: false } }).remote();
    assert.equal(await ray.get(a.node.remote(), GET), worker.nodeId);
    const spread = NodeProbe.options({ schedulingStrategy: "SPREAD" });
    const nodes = await ray.get(
      [spread.remote(), spread.remote()].map((p) => p.node.remote()),
      GET,
    );
    assert.deepEqual(new Set(nodes), new Set([head.nodeId, worker.nodeId]));
  });

  test("hard affinity to an unknown node fails naming it; soft affinity runs anyway", async () => {
    const hard = nodeOf.options({ schedulingStrategy: { nodeId: "no-such-node" } });
    await assert.rejects(
      ray.get(hard.remote(), GET),
      infeasible(/node "no-such-node" is not in the cluster/),
    );
    const soft = nodeOf.options({ schedulingStrategy: { nodeId: "no-such-node", soft: true } });
    assert.ok([head.nodeId, worker.nodeId].includes(await ray.get(soft.remote(), GET)));
    const actor = NodeProbe.options({ schedulingStrategy: { nodeId: "no-such-node" } }).remote();
    await assert.rejects(ray.get(actor.node.remote(), GET), /node "no-such-node" is not in the cluster/);
  });

  test("label selectors pick the node for tasks and actors", async () => {
    const onB = nodeOf.options({ labelSelector: { zone: "b" } });
    assert.deepEqual(await ray.get([onB.remote(), onB.remote()], GET), [worker.nodeId, worker.nodeId]);
    const notB = nodeOf.options({ labelSelector: { zone: "!b" } });
    assert.equal(await ray.get(notB.remote(), GET), head.nodeId);
    const ssd = NodeProbe.options({ labelSelector: { disk: "ssd|nvme" } }).remote();
    assert.equal(await ray.get(ssd.node.remote(), GET), worker.nodeId);
  });

  test("a label selector no live node matches fails at once, naming the selector", async () => {
    const nowhere = nodeOf.options({ labelSelector: { zone: "c" } });
    await assert.rejects(
      ray.get(nowhere.remote(), GET),
      infeasible(/no live node matches the label selector \{"zone":"c"\}/),
    );
    const tooBig = nodeOf.options({ numCpus: 8, labelSelector: { zone: "b" } });
    await assert.rejects(
      ray.get(tooBig.remote(), GET),
      infeasible(/needs 8 CPU/, /among live nodes matching the label selector \{"zone":"b"\}/),
    );
    const actor = NodeProbe.options({ labelSelector: { zone: "c" } }).remote();
    await assert.rejects(ray.get(actor.node.remote(), GET), /no live node matches the label selector/);
  });

  test("affinity to a dead node: hard fails saying it is dead, soft runs elsewhere", async () => {
    const doomed = await cluster.addNode({ numCpus: 1 });
    pids.add(doomed.pid);
    await cluster.waitForNodes(3);
    await cluster.killNode(doomed);
    await cluster.waitForNodes(2, 15_000);
    const hard = nodeOf.options({ schedulingStrategy: { nodeId: doomed.nodeId } });
    await assert.rejects(
      ray.get(hard.remote(), GET),
      infeasible(new RegExp(`node "${doomed.nodeId}" is dead`)),
    );
    const soft = nodeOf.options({ schedulingStrategy: { nodeId: doomed.nodeId, soft: true } });
    assert.ok([head.nodeId, worker.nodeId].includes(await ray.get(soft.remote(), GET)));
  });
});
