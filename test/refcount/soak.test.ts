// A small version of the `memory soak` benchmark (issue 4 point 7; the full one,
// 1,000,000 tasks and 100,000 puts, runs in `npm run bench -- --filter "memory soak"`):
// after 20,000 tasks (results got, refs released or left to the GC) and 5,000 puts
// of 1 KiB released, no object is left anywhere but the one the test holds, and the
// driver's heap has not grown beyond a generous bound.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "tsray";
import { tiny } from "../fixtures/refcount.js";
import { useCluster } from "../helpers/cluster.js";
import { collectUntil, gc } from "./helpers.js";

useCluster({ numCpus: 2, logToDriver: false });

const TASKS = 20_000;
const PUTS = 5_000;
const BATCH = 1_000;
/** Heap growth allowed in the driver after everything was released and collected. */
const HEAP_BOUND_MB = 24;

/** Run `n` tasks in batches; even batches are released, odd ones left to the garbage collector. */
async function tasks(n: number): Promise<void> {
  for (let done = 0, batch = 0; done < n; done += BATCH, batch++) {
    const refs = Array.from({ length: BATCH }, (_, i) => tiny.remote(i));
    const values = await ray.get(refs);
    assert.equal(values[BATCH - 1], BATCH);
    if (batch % 2 === 0) for (const r of refs) r.release();
  }
}

async function puts(n: number): Promise<void> {
  const value = new Uint8Array(1024).fill(3);
  for (let done = 0; done < n; done += BATCH) {
    const refs: ray.ObjectRef<Uint8Array>[] = [];
    for (let i = 0; i < BATCH; i++) refs.push(await ray.put(value));
    for (const r of refs) r.release();
  }
}

test(`soak: ${TASKS} tasks and ${PUTS} puts leave no object behind and the driver's heap flat`, async () => {
  await tasks(2 * BATCH); // warm-up: workers started, code compiled
  await puts(BATCH);
  const kept = await ray.put("held by the test for the whole run");
  await collectUntil(async () => (await ray.memory()).objects.length === 1, 10_000, "a clean baseline");
  const collect = gc();
  collect();
  const heapBefore = process.memoryUsage().heapUsed;

  await tasks(TASKS);
  await puts(PUTS);

  // Refs left to the GC are released at the driver's collection; workers collect on their own.
  await collectUntil(
    async () => (await ray.memory()).objects.length === 1,
    15_000,
    "every object but the kept one to be freed",
  );
  const m = await ray.memory();
  assert.deepEqual(
    m.objects.map((o) => o.id),
    [kept.id],
    "only the object the test holds is alive",
  );
  for (const p of m.processes) {
    if (p.pid === process.pid) {
      assert.equal(p.objects, 1, "the driver tracks only the kept object");
    } else {
      assert.equal(p.objects, 0, `${p.kind} ${p.pid} still tracks ${p.objects} object(s)`);
      assert.equal(p.bytes, 0);
    }
  }
  collect();
  const growthMb = (process.memoryUsage().heapUsed - heapBefore) / (1024 * 1024);
  assert.ok(growthMb < HEAP_BOUND_MB, `the driver's heap grew by ${growthMb.toFixed(1)} MB`);
  assert.equal(await ray.get(kept), "held by the test for the whole run");
  kept.release();
});
