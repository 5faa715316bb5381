/**
 * Child process of the `tasks across 2 nodes async` scenario: a Cluster of two nodes
 * (a head and a worker node, real processes on loopback, 1 CPU each), a driver on the
 * head submitting batches of trivial tasks of which half need a resource only the
 * worker node has (they are spilled back there and leased from it directly), so both
 * nodes' workers run at once. Prints the tasks/s figure as one JSON line.
 */
import { get, init, type ObjectRef, remote, shutdown } from "tsray";
import { Cluster } from "tsray/testing";

const BATCH = 1000;

import { benchSeconds } from "../harness.js";

const seconds = benchSeconds();

const where = remote(() => 1);

const cluster = await Cluster.start({ head: { numCpus: 1, resources: { a: 1000 } } });
try {
  await cluster.addNode({ numCpus: 1, resources: { b: 1000 } });
  await cluster.waitForNodes(2);
  await init({ address: cluster.address });
  const onA = where.options({ resources: { a: 1 } });
  const onB = where.options({ resources: { b: 1 } });
  const batch = async (): Promise<void> => {
    const refs: ObjectRef<number>[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) refs[i] = (i % 2 === 0 ? onA : onB).remote();
    await get(refs);
  };
  await batch(); // warm-up: leases on both nodes
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await batch();
    n += BATCH;
  }
  const perS = n / ((performance.now() - t0) / 1000);
  process.stdout.write(`${JSON.stringify({ perS })}\n`);
} finally {
  await shutdown();
  await cluster.shutdown();
}
