// What a held ref costs the driver (issue 16, point 9): 100,000 puts held in the
// driver, measured in its V8 heap after full collections (a memory figure, not a
// timing one: deterministic up to a few KB of background allocation). The layout
// before the compact entry cost ~430 bytes per held put (a 22-slot entry, a cons-string
// id kept by ref and entry); now ~237. Dropping the refs gives the heap back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import * as ray from "tsray";
import { useCluster } from "../helpers/cluster.js";
import { collectUntil, driverEntry, gc } from "./helpers.js";

useCluster({ numCpus: 1, logToDriver: false });

const N = 100_000;
/** Bytes per held put: everything it costs, the test's own array slot (8 bytes) included. */
const MAX_BYTES_PER_REF = 350;

/** Heap used after full collections, once finalizers had their turn. */
async function heapUsed(): Promise<number> {
  const collect = gc();
  for (let i = 0; i < 2; i++) {
    collect();
    await nextTurn();
  }
  collect();
  return process.memoryUsage().heapUsed;
}

describe("driver memory per held ref", () => {
  test(`${N} held puts cost at most ${MAX_BYTES_PER_REF} bytes each in the driver's heap; dropping them gives it back`, async () => {
    // Warm up: code compiled, the table grown and shrunk once, so the baseline is not startup.
    let refs: ray.ObjectRef<number>[] | undefined = [];
    for (let i = 0; i < 10_000; i++) refs.push(await ray.put(i));
    refs = undefined;
    await collectUntil(
      async () => (await driverEntry()).objects === 0,
      20_000,
      "the warm-up refs to be freed",
    );

    const before = await heapUsed();
    refs = new Array(N);
    for (let i = 0; i < N; i++) refs[i] = await ray.put(i);
    const held = await heapUsed();
    const perRef = (held - before) / N;
    console.log(`held refs: ${perRef.toFixed(1)} bytes per ref (heap ${before} -> ${held})`);
    assert.equal((await driverEntry()).objects, N, "the driver tracks every held put");
    assert.ok(
      perRef <= MAX_BYTES_PER_REF,
      `a held put costs ${perRef.toFixed(1)} bytes of driver heap, more than ${MAX_BYTES_PER_REF}`,
    );
    assert.equal(await ray.get(refs[N - 1]!), N - 1, "the last put still reads back");

    refs = undefined;
    await collectUntil(
      async () => (await driverEntry()).objects === 0,
      20_000,
      "the dropped refs to be freed",
    );
    const dropped = await heapUsed();
    console.log(`after drop: heap ${dropped} (${((dropped - before) / 1024).toFixed(0)} KiB above baseline)`);
    assert.ok(
      dropped - before < (held - before) / 10,
      `dropping ${N} refs left ${dropped - before} bytes of the ${held - before} they took`,
    );
  });
});
