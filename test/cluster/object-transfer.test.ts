// Objects between nodes (issue 10 point 5): a large object stored on one node is
// pulled into the reader's node store in chunks (small chunks here, so there are many,
// several in flight), once per node however many readers ask, from a node that already
// has a copy rather than always the owner's, and read in place there. Copies go when
// the owner frees the object, and when the owner dies.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ray from "tsray";
import { Cluster, type ClusterNode } from "tsray/testing";
import { inspect, make, RemoteHolder, stats } from "../fixtures/transfer-tasks.js";
import { stopNodes } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { gc } from "../object-store/helpers.js";

// 256 KiB chunks: a 24 MiB object is 96 of them. Node processes inherit the environment.
process.env.TSRAY_OBJECT_CHUNK_BYTES = String(256 * 1024);
const N = 3 << 20; // Float64 elements: 24 MiB

describe("objects move between nodes", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let b: ClusterNode;
  let c: ClusterNode;
  const on = (r: string) => ({ resources: { [r]: 1 } });

  /** Wait until the earlier tests' objects (freed once this driver collects their refs) left node `r`'s store. */
  const emptyStore = (r: string) =>
    pollUntil(
      async () => {
        gc();
        return (await ray.get(stats.options(on(r)).remote())).numObjects === 0;
      },
      20_000,
      `node ${r}'s store empty before the test`,
    );

  before(async () => {
    cluster = await Cluster.start({ head: { numCpus: 1, resources: { a: 4 } } });
    b = await cluster.addNode({ numCpus: 2, resources: { b: 4 } });
    c = await cluster.addNode({ numCpus: 1, resources: { c: 4 } });
    await cluster.waitForNodes(3);
    await ray.init({ address: cluster.address });
  });

  after(() => stopNodes(cluster));

  test("a put on the head is pulled into B's store in chunks and read there in place; readers on B share one pull", async () => {
    const ref = await ray.put(new Float64Array(N).fill(3));
    const before = await ray.get(stats.options(on("b")).remote());
    const seen = await ray.get([inspect.options(on("b")).remote(ref), inspect.options(on("b")).remote(ref)]);
    for (const s of seen) {
      assert.equal(s.length, N);
      assert.equal(s.sum, 3 * (N / 4096));
      assert.equal(s.inPlace, true, "the reader's array is a view of B's store");
    }
    const afterB = await ray.get(stats.options(on("b")).remote());
    assert.equal(afterB.pulledObjectsTotal - before.pulledObjectsTotal, 1, "two readers on B, one pull");
    assert.equal(
      afterB.pulledBytesTotal - before.pulledBytesTotal,
      seen[0]!.pulledBytes - before.pulledBytesTotal,
    );
    assert.ok(afterB.pulledBytesTotal - before.pulledBytesTotal >= N * 8);

    // C pulls from B's copy, not from the owner's node.
    const headBefore = await ray.get(stats.options(on("a")).remote());
    const onC = await ray.get(inspect.options(on("c")).remote(ref));
    assert.equal(onC.sum, 3 * (N / 4096));
    const bAfterC = await ray.get(stats.options(on("b")).remote());
    const headAfter = await ray.get(stats.options(on("a")).remote());
    assert.ok(
      bAfterC.servedBytesTotal - afterB.servedBytesTotal >= N * 8,
      `B served C (${bAfterC.servedBytesTotal - afterB.servedBytesTotal} bytes)`,
    );
    assert.equal(headAfter.servedBytesTotal, headBefore.servedBytesTotal, "the head served nothing more");
  });

  test("a large return made on B is pulled back to the driver's node and read in place", async () => {
    const got = await ray.get(make.options(on("b")).remote(N));
    assert.equal(got.length, N);
    assert.equal(got[N - 1], 5);
    assert.ok(got.buffer.byteLength > got.byteLength, "a view of the head's store");
  });

  test("freeing the object frees the copies on the other nodes", async () => {
    await emptyStore("b");
    let ref: ray.ObjectRef<Float64Array> | undefined = await ray.put(new Float64Array(N).fill(1));
    assert.equal((await ray.get(inspect.options(on("b")).remote(ref))).sum, N / 4096);
    assert.equal((await ray.get(stats.options(on("b")).remote())).numObjects, 1, "B holds the copy");
    ref = undefined;
    await pollUntil(
      async () => {
        gc();
        return (await ray.get(stats.options(on("b")).remote())).numObjects === 0;
      },
      20_000,
      "B's copy freed after the driver dropped its ref",
    );
  });

  test("when the owner dies, its objects' copies on other nodes are freed", async () => {
    await emptyStore("c");
    const cBase = 0;
    const holder = RemoteHolder.options(on("a")).remote();
    const [ref] = await ray.get(holder.make.remote(N, 2));
    assert.equal((await ray.get(inspect.options(on("c")).remote(ref!))).sum, 2 * (N / 4096));
    assert.equal((await ray.get(stats.options(on("c")).remote())).numObjects, cBase + 1);
    ray.kill(holder);
    await pollUntil(
      async () => (await ray.get(stats.options(on("c")).remote())).numObjects === cBase,
      20_000,
      "C's copy freed after its owner died",
    );
  });

  test("nodes are separate: B and C have stores of their own", () => {
    assert.notEqual(b.sessionDir, c.sessionDir);
  });
});
