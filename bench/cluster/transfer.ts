/**
 * Child process of the object-transfer scenarios (issue 10): real node processes on
 * loopback, each with its own store. `pair`: a 1 GiB Uint8Array put by a driver on the
 * head is read by a task on a second node (its node manager pulls it in chunks into
 * its own store; the task reads it in place); prints GB/s of the get, best of 3 fresh
 * objects. `broadcast`: one 1 GiB object read at once by a task on each of 4 other
 * nodes (pulls may come from any node that already has a copy); prints the seconds
 * until all four have it. One JSON line: `{ perS }` (GB/s or seconds).
 */
import { get, init, put, shutdown } from "tsray";
import { Cluster } from "tsray/testing";
import { touch } from "./transfer-tasks.js";

const GiB = 1 << 30;
const mode = process.argv[2] === "broadcast" ? "broadcast" : "pair";
const readers = mode === "broadcast" ? 4 : 1;
// Room for every round's object at once (the driver frees them only when it collects its refs).
const store = mode === "pair" ? 3.5 * GiB : GiB + GiB / 2;

const cluster = await Cluster.start({ head: { numCpus: 1, objectStoreMemory: store } });
try {
  for (let i = 0; i < readers; i++)
    await cluster.addNode({ numCpus: 1, resources: { [`n${i}`]: 1 }, objectStoreMemory: store });
  await cluster.waitForNodes(readers + 1);
  await init({ address: cluster.address });
  const on = Array.from({ length: readers }, (_, i) => touch.options({ resources: { [`n${i}`]: 1 } }));
  // Warm-up: workers started on every node, a small object pulled.
  const small = await put(new Uint8Array(1 << 20).fill(1));
  await get(on.map((t) => t.remote(small)));
  const rounds = mode === "pair" ? 3 : 1;
  let best = mode === "pair" ? 0 : Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const ref = await put(new Uint8Array(GiB).fill(r + 2));
    const t0 = performance.now();
    const seen = await get(on.map((t) => t.remote(ref)));
    const s = (performance.now() - t0) / 1000;
    if (seen.some((v) => v !== r + 2)) throw new Error(`a reader saw ${seen.join(",")}, not ${r + 2}`);
    best = mode === "pair" ? Math.max(best, GiB / s / 1e9) : Math.min(best, s);
  }
  process.stdout.write(`${JSON.stringify({ perS: best })}\n`);
} finally {
  await shutdown();
  await cluster.shutdown();
}
