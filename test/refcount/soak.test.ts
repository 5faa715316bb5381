// A small version of the `memory soak` benchmark (issue 4 point 7; the full one,
// 1,000,000 tasks, 100,000 puts of 1 KiB and 1,000 of 1 MiB, runs in
// `npm run bench -- --filter "^memory soak"`): after 20,000 tasks (results got, refs
// released or left to the GC), 5,000 puts of 1 KiB released and 200 puts of 1 MiB
// (above the inline threshold: they live in the shared-memory store; half released,
// half left to the GC), no object is left anywhere but the one the test holds, the
// store is back to its baseline, the driver's heap has not grown beyond a generous
// bound, and neither have the workers' heaps once their idle collections ran.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as ray from "tsray";
import { tiny } from "../fixtures/refcount.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { collectUntil, gc } from "./helpers.js";

useCluster({ numCpus: 2, logToDriver: false });

const TASKS = 20_000;
const PUTS = 5_000;
const LARGE_PUTS = 200;
const BATCH = 1_000;
const LARGE_BATCH = 50;
const MiB = 1024 * 1024;
/** Heap growth allowed in the driver after everything was released and collected. */
const HEAP_BOUND_MB = 24;
/** Heap growth allowed in a worker after its idle collection (it collects at 4 MiB of growth). */
const WORKER_HEAP_BOUND_MB = 8;

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

/** 1 MiB puts (store objects) in batches; even batches released, odd ones left to the garbage collector. */
async function largePuts(n: number): Promise<void> {
  const value = new Uint8Array(MiB).fill(5);
  for (let done = 0, batch = 0; done < n; done += LARGE_BATCH, batch++) {
    const refs: ray.ObjectRef<Uint8Array>[] = [];
    for (let i = 0; i < LARGE_BATCH; i++) refs.push(await ray.put(value));
    if (batch === 0) {
      const inStore = (await ray.memory()).objectStores[0]!.numObjects;
      assert.ok(
        inStore >= LARGE_BATCH,
        `a batch of 1 MiB puts lives in the store (${inStore} objects there)`,
      );
    }
    if (batch % 2 === 0) for (const r of refs) r.release();
  }
}

/** Waits (bounded) until no worker has a collection due, then returns the report. */
async function workersSettled(what: string): Promise<ray.MemorySummary> {
  return pollUntil(
    async () => {
      const m = await ray.memory();
      return m.processes.some((p) => p.gcPending) ? undefined : m;
    },
    15_000,
    what,
    50,
  );
}

test(`soak: ${TASKS} tasks, ${PUTS} puts and ${LARGE_PUTS} puts of 1 MiB leave no object behind, the store at its baseline and heaps flat`, async () => {
  await tasks(2 * BATCH); // warm-up: workers started, code compiled
  await puts(BATCH);
  await largePuts(2 * LARGE_BATCH);
  const kept = await ray.put("held by the test for the whole run");
  await collectUntil(async () => (await ray.memory()).objects.length === 1, 10_000, "a clean baseline");
  const baseline = await workersSettled("the workers' idle collections before the soak");
  const storeBefore = baseline.objectStores[0]!;
  assert.equal(storeBefore.numObjects, 0, "the warm-up's large puts left the store");
  const workerHeapBefore = new Map(baseline.processes.map((p) => [p.pid, p.heapUsed]));
  const collect = gc();
  collect();
  const heapBefore = process.memoryUsage().heapUsed;

  await tasks(TASKS);
  await puts(PUTS);
  await largePuts(LARGE_PUTS);

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
  // The store is back to its baseline: every large object left it (those left to the GC too).
  await collectUntil(
    async () => {
      const st = (await ray.memory()).objectStores[0]!;
      return st.usedBytes === storeBefore.usedBytes && st.numObjects === storeBefore.numObjects;
    },
    15_000,
    "the object store to return to its baseline",
  );
  const after = await workersSettled("the workers' idle collections after the soak");
  let compared = 0;
  for (const p of after.processes) {
    const before = workerHeapBefore.get(p.pid);
    if (p.pid === process.pid || before === undefined) continue;
    compared++;
    const grewMb = (p.heapUsed - before) / MiB;
    assert.ok(
      grewMb < WORKER_HEAP_BOUND_MB,
      `${p.kind} ${p.pid}'s heap grew by ${grewMb.toFixed(1)} MB after its idle collection (${p.fullGcs} full collections)`,
    );
  }
  assert.ok(compared >= 1, "the workers of the baseline are still there to compare");
  collect();
  const growthMb = (process.memoryUsage().heapUsed - heapBefore) / MiB;
  assert.ok(growthMb < HEAP_BOUND_MB, `the driver's heap grew by ${growthMb.toFixed(1)} MB`);
  assert.equal(await ray.get(kept), "held by the test for the whole run");
  kept.release();
});
