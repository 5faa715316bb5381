/**
 * Child process of the `n:n actor calls across nodes async` scenario: a Cluster of two
 * nodes (a head and a worker node, real processes on loopback, 1 CPU each), N actors
 * pinned on each node by a custom resource only that node has, and Ray's `work` callers
 * (4 tasks of 5,000 calls each, as in `n:n actor calls async`), half of them pinned on
 * each node and calling only the other node's actors, so every call crosses between the
 * nodes both ways. Prints the calls/s figure as one JSON line.
 */
import { get, init, kill, shutdown } from "tsray";
import { Cluster } from "tsray/testing";
import { Actor, work } from "../actors.js";
import { timeit } from "../harness.js";

/** Actors per node. */
const N = 2;
/** Calls each `work` task makes (Ray's n:n figure). */
const CALLS = 5000;
/** `work` tasks per measured step, half on each node. */
const M = 4;

const cluster = await Cluster.start({ head: { numCpus: 1, resources: { a: 1000 } } });
try {
  await cluster.addNode({ numCpus: 1, resources: { b: 1000 } });
  await cluster.waitForNodes(2);
  await init({ address: cluster.address });
  const onA = Array.from({ length: N }, () => Actor.options({ resources: { a: 1 } }).remote());
  const onB = Array.from({ length: N }, () => Actor.options({ resources: { b: 1 } }).remote());
  // Callers on A call B's actors, callers on B call A's.
  const fromA = work.options({ resources: { a: 1 } });
  const fromB = work.options({ resources: { b: 1 } });
  const step = () =>
    get(
      Array.from({ length: M }, (_, i) =>
        i % 2 === 0 ? fromA.remote(onB, CALLS) : fromB.remote(onA, CALLS),
      ),
    );
  await step(); // every actor placed and warm, a caller leased on each node
  const perS = await timeit(step, M * CALLS);
  await Promise.all([...onA, ...onB].map((h) => kill(h)));
  process.stdout.write(`${JSON.stringify({ perS })}\n`);
} finally {
  await shutdown();
  await cluster.shutdown();
}
