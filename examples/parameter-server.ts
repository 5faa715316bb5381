/**
 * An asynchronous parameter server: a ParameterServer actor holds the weights of a
 * linear least-squares model; four worker tasks, each with its own data shard, loop
 * pull -> gradient -> push through copies of the server's handle, without waiting
 * for one another. The driver watches the loss on all the data fall.
 *
 *   node --import tsx examples/parameter-server.ts
 */
import * as ray from "tsray";
import { loss, makeShards, ParameterServer, type Shard, worker } from "./lib/parameter-server.js";

const WORKERS = 4;
const STEPS = 100;
const DIM = 20;

await ray.init({ numCpus: WORKERS });
try {
  const { shards } = makeShards({ dim: DIM, rows: 4000, shards: WORKERS });
  const all: Shard = {
    dim: DIM,
    x: Float64Array.from(shards.flatMap((s) => [...s.x])),
    y: Float64Array.from(shards.flatMap((s) => [...s.y])),
  };
  const ps = ParameterServer.remote(DIM, 0.05);
  const losses: number[] = [loss(all, await ray.get(ps.pull.remote()))];
  console.log(`updates    0: loss ${losses[0]!.toFixed(6)}`);

  // Each worker gets the server's handle and its shard (put once in the object store).
  const jobs = await Promise.all(shards.map(async (shard) => worker.remote(ps, await ray.put(shard), STEPS)));

  // Watch the loss while the workers run: wake when a worker finishes, or every 50 ms.
  let pending = jobs;
  let shown = 0;
  for (;;) {
    const [, notReady] = await ray.wait(pending, { numReturns: pending.length, timeout: 50 });
    pending = notReady;
    const [updates, w] = await ray.get([ps.numUpdates.remote(), ps.pull.remote()]);
    if (updates !== shown || pending.length === 0) {
      shown = updates as number;
      const l = loss(all, w as Float64Array);
      losses.push(l);
      console.log(`updates ${String(updates).padStart(4)}: loss ${l.toFixed(6)}`);
    }
    if (pending.length === 0) break;
  }
  const pushes = (await ray.get(jobs)).reduce((a, b) => a + b, 0);
  const first = losses[0]!;
  const last = losses[losses.length - 1]!;
  console.log(
    `${WORKERS} workers pushed ${pushes} gradients; loss decreased from ${first.toFixed(6)} to ${last.toFixed(6)}`,
  );
  if (!(last < first / 10)) throw new Error("the loss did not decrease");
} finally {
  await ray.shutdown();
}
