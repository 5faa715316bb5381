// Store usage and pinning (issue 5, with the refcount of issue 4): `ray.memory()`
// reports the node's object store; the bytes of objects owned by workers and of
// objects freed by garbage collection (refs dropped without release()) leave the
// store, back to the baseline. A view the driver keeps of a released object keeps
// the object's bytes in the store, intact while the store is under pressure, until
// the view is collected; an object with a live view is never spilled.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  describeArg,
  makeArray,
  putInWorker,
  StoreOwner,
  sumOfNestedReturn,
} from "../fixtures/store-tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import {
  collectUntil,
  gc,
  MiB,
  patterned,
  report,
  storeBytes,
  storeEmptiedEverywhere,
  storeStats,
} from "./helpers.js";

// The head reads its settings when it starts (at init, below): it inherits this.
const spillRoot = tempDir("store-usage");
process.env.TSRAY_SPILL_DIR = spillRoot;

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });

/** 16 MiB of float64: three fit in the 64 MiB store, four do not. */
const N16 = 2 * MiB;
/** 4 MiB of float64. */
const N4 = MiB / 2;
/** Bound for "released objects leave the store" (GC in workers, batched releases). */
const SETTLE_MS = 10_000;

/** Files in this head's spill directory. */
function spillFiles(): string[] {
  try {
    return readdirSync(join(spillRoot, `tsray-${cluster.info.headPid}`));
  } catch {
    return [];
  }
}

/** The name of an object's spill file (the store replaces characters outside [A-Za-z0-9_.-]). */
function spillName(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** The store is back to nothing after the driver's collections (workers collect on their own). */
async function collectUntilStoreEmpty(what: string): Promise<void> {
  await collectUntil(
    async () => {
      const s = await storeStats();
      return s.usedBytes === 0 && s.numObjects === 0;
    },
    SETTLE_MS,
    what,
  );
}

describe("store usage", () => {
  test("memory().objectStores describes the node's store: backend, capacity, bytes and objects in use", async () => {
    const capacity = storeBytes(cluster.info);
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store at start");
    const empty = await storeStats();
    assert.equal(empty.backend, "native");
    assert.equal(empty.capacity, capacity);
    assert.equal(typeof empty.nodeId, "string");
    assert.deepEqual(
      [empty.usedBytes, empty.numObjects, empty.objectBytes, empty.pinnedObjects, empty.spilledBytes],
      [0, 0, 0, 0, 0],
    );
    assert.equal(empty.largestFreeBlock, capacity, "an empty store is one free block");

    const ref = await ray.put(patterned(N4, 1));
    const one = await storeStats();
    assert.equal(one.numObjects, 1);
    assert.ok(
      one.objectBytes >= N4 * 8 && one.objectBytes < N4 * 8 + 64 * 1024,
      `object bytes ${one.objectBytes}`,
    );
    // A large object takes a page more than its size (page-aligned, so no page is shared).
    assert.ok(
      one.usedBytes >= one.objectBytes && one.usedBytes <= one.objectBytes + 2 * 4096,
      `${one.usedBytes}`,
    );
    assert.equal(one.pinnedObjects, 0, "a sealed object nobody reads is not pinned");
    let view: Float64Array | undefined = await ray.get(ref);
    const read = await storeStats();
    assert.deepEqual(
      [read.pinnedObjects, read.pinnedBytes],
      [1, one.objectBytes],
      "the driver's view pins it",
    );
    assert.equal(view[0], -2);
    view = undefined;
    ref.release();
    await collectUntil(
      async () => (await storeStats()).usedBytes === 0,
      SETTLE_MS,
      "the released object to leave the store",
    );
  });

  test("objects owned by workers (puts and nested task returns) leave the store once released: usage returns to the baseline", async () => {
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store (the baseline)");
    // Two workers each put 8 MiB and hand the ref out: the workers own the objects, the driver borrows them.
    const outs = await ray.get([putInWorker.remote(MiB, 1), putInWorker.remote(MiB, 2)], {
      timeout: 20_000,
    });
    let views: Float64Array[] | undefined = await ray.get(outs.map((o) => o.ref));
    assert.deepEqual(
      views.map((v) => [v.length, v[0], v[MiB - 1], v.buffer.byteLength > v.byteLength]),
      [
        [MiB, 1, 1, true],
        [MiB, 2, 2, true],
      ],
    );
    // Workers also own large task returns they submitted themselves (each dropped there without release()).
    const sums = await ray.get([sumOfNestedReturn.remote(MiB, 3), sumOfNestedReturn.remote(MiB, 4)], {
      timeout: 20_000,
    });
    assert.deepEqual(
      sums.map((s) => [s.sum, s.isView]),
      [
        [3 * 1024, true],
        [4 * 1024, true],
      ],
    );
    const inUse = await storeStats();
    assert.ok(inUse.usedBytes >= 2 * MiB * 8, `the workers' puts use the store: ${inUse.usedBytes} bytes`);

    for (const o of outs) o.ref.release();
    views = undefined;
    gc(); // the driver's views of the workers' objects
    await pollUntil(
      async () => {
        const s = await storeStats();
        return s.usedBytes === 0 && s.numObjects === 0 ? s : undefined;
      },
      SETTLE_MS,
      "store usage to return to the baseline after the workers' objects were released",
      25,
    );
    assert.equal(views, undefined);
    const m = await ray.memory();
    for (const o of outs)
      assert.equal(
        m.objects.find((x) => x.id === o.ref.id),
        undefined,
        "freed by its owner",
      );
  });

  test("objects whose refs were dropped without release() leave the store once collected: usage returns to the baseline", async () => {
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store (the baseline)");
    const ids = await (async () => {
      const put = await ray.put(patterned(N4, 5)); // driver put
      const ret = makeArray.remote(N4, 1, 0); // task return, owned by the driver, written by a worker
      const arg = describeArg.remote(put); // a worker reads the put as an argument (it pins it meanwhile)
      const [r, a] = await ray.get([ret, arg], { timeout: 20_000 });
      assert.equal(r[N4 - 1], N4 - 1);
      assert.equal(a.first, -6);
      return [put.id, ret.id];
    })();
    const held = await storeStats();
    assert.equal(held.numObjects, 2, "the put and the task return are in the store");
    // No release(): the driver's collection drops the refs (and its view), the worker collects its own views.
    await collectUntilStoreEmpty(
      "store usage to return to the baseline after the refs were garbage collected",
    );
    const m = await ray.memory();
    assert.equal(m.objects.filter((o) => ids.includes(o.id)).length, 0);
  });

  test("objects owned by a process that dies leave the store; a view held elsewhere keeps its bytes until collected", async () => {
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store (the baseline)");
    const owner = StoreOwner.remote();
    const { shared } = await ray.get(owner.putTwo.remote(N4), { timeout: 20_000 });
    let view: Float64Array | undefined = await ray.get(shared);
    assert.equal(view[0], 2);
    assert.equal((await storeStats()).numObjects, 2, "both puts are in the store");

    await ray.kill(owner); // SIGKILL: the owner never releases anything itself
    await pollUntil(
      async () => ((await storeStats()).numObjects === 1 ? true : undefined),
      SETTLE_MS,
      "the object nobody views to leave the store once its owner is gone",
      25,
    );
    assert.equal(view[N4 - 1], 2, "the driver's view stays intact");

    view = undefined;
    await collectUntilStoreEmpty("the viewed object to leave the store once the view is collected");
    assert.equal(view, undefined);
  });
});

describe("pinning", () => {
  test("a view kept after release() keeps its bytes in the store, intact under pressure, until it is collected", async () => {
    const capacity = storeBytes(cluster.info);
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store at start");
    const original = patterned(N16, 7);
    const expected = report(original);
    const ref = await ray.put(original);
    const id = ref.id;
    let view: Float64Array | undefined = await ray.get(ref);
    assert.equal(view.buffer.byteLength, capacity, "a zero-copy view into the arena");
    ref.release(); // the owner frees it; the view still pins its bytes
    const released = await storeStats();
    assert.equal(
      (await ray.memory()).objects.find((o) => o.id === id),
      undefined,
      "the object is freed as far as reference counting goes",
    );
    assert.deepEqual(
      [released.numObjects, released.pinnedObjects],
      [1, 1],
      "the store keeps the viewed object",
    );
    const objectBytes = released.objectBytes;

    // Pressure: 5 more objects of 16 MiB, all referenced, into the 48 MiB left: the store must spill.
    const fill: ray.ObjectRef<Float64Array>[] = [];
    for (let k = 0; k < 5; k++) fill.push(await ray.put(patterned(N16, 10 + k)));
    const full = await storeStats();
    assert.ok(full.spilledObjects >= 3, `the fill spilled ${full.spilledObjects} object(s)`);
    assert.deepEqual(
      [full.pinnedObjects, full.pinnedBytes],
      [1, objectBytes],
      "the viewed object is still in the store (pinned), counted in use",
    );
    assert.ok(full.usedBytes >= objectBytes + 2 * N16 * 8, `in use ${full.usedBytes}`);
    // Its bytes were neither moved nor overwritten by the objects stored after it.
    assert.equal(report(view).checksum, expected.checksum, "the view's bytes are intact");
    assert.deepEqual([view[0], view[N16 - 1]], [-8, 7.5]);
    // The fill objects read back intact too (restored from disk where spilled).
    assert.equal((await ray.get(fill[0]!))[0], -11);

    // Drop the view: once collected, its object leaves the store.
    view = undefined;
    const before = (await storeStats()).usedBytes;
    await collectUntil(
      async () => (await storeStats()).pinnedObjects === 0,
      SETTLE_MS,
      "the collected view to unpin its object",
    );
    const after = await storeStats();
    assert.ok(after.usedBytes <= before - objectBytes, `in use ${before} -> ${after.usedBytes} bytes`);
    assert.equal(view, undefined);
    for (const r of fill) r.release();
    await storeEmptiedEverywhere(SETTLE_MS, "the store to be empty once everything is released");
    assert.deepEqual(spillFiles(), []);
  });

  test("an object with a live view is never spilled, however full the store gets", async () => {
    await storeEmptiedEverywhere(SETTLE_MS, "an empty store at start");
    const original = patterned(N16, 20);
    const expected = report(original);
    const ref = await ray.put(original);
    let view: Float64Array | undefined = await ray.get(ref);
    const offset = view.byteOffset;
    const spilledBefore = (await storeStats()).spilledObjectsTotal;
    const fill: ray.ObjectRef<Float64Array>[] = [];
    for (let k = 0; k < 6; k++) {
      fill.push(await ray.put(patterned(N16, 30 + k)));
      assert.ok(!spillFiles().includes(spillName(ref.id)), `put ${k}: the viewed object was spilled`);
    }
    const s = await storeStats();
    assert.ok(
      s.spilledObjectsTotal - spilledBefore >= 4,
      `the fill spilled ${s.spilledObjectsTotal - spilledBefore}`,
    );
    assert.equal(s.pinnedObjects, 1);
    assert.equal(report(view).checksum, expected.checksum, "the view's bytes are intact");
    // A new read finds it where it was: never moved out and back.
    let again: Float64Array | undefined = await ray.get(ref);
    assert.equal(again.byteOffset, offset, "the object stayed at its place in the arena");
    assert.equal(report(again).checksum, expected.checksum);
    view = again = undefined;
    ref.release();
    for (const r of fill) r.release();
    // The views are garbage now: the store empties once they are collected.
    await collectUntil(
      async () => {
        const st = await storeStats();
        return st.usedBytes === 0 && st.numObjects === 0 && st.spilledObjects === 0;
      },
      SETTLE_MS,
      "the store to be empty once the views are collected",
    );
    assert.deepEqual(spillFiles(), []);
  });
});
