// Capacity, spilling and freeing (issue 5): with a 64 MiB store, live objects of 3x
// the capacity are all kept (the least recently used unpinned ones are spilled to
// TSRAY_SPILL_DIR and restored on demand) and read back intact, in the driver and in
// a worker. Released objects leave the store: ray.memory() and the store's usage go
// back to their baseline, and their spill files are removed. A spill file that vanished
// makes its object lost (ObjectLostError) without leaking store space.
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { describeArg } from "../fixtures/store-tasks.js";
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
  storeInUse,
  storeStats,
} from "./helpers.js";

// The head reads its settings when it starts (at init, below): it inherits this.
const spillRoot = tempDir("store-spill");
process.env.TSRAY_SPILL_DIR = spillRoot;

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });

/** 16 MiB of float64. */
const N16 = 2 * MiB;

/** Files in this head's spill directory (TSRAY_SPILL_DIR/tsray-<head pid>). */
function spillFiles(): string[] {
  try {
    return readdirSync(join(spillRoot, `tsray-${cluster.info.headPid}`));
  } catch {
    return [];
  }
}

/** Number of live objects ray.memory() lists, cluster-wide (failed ones aside). */
async function objectCount(): Promise<number> {
  return (await ray.memory()).objects.filter((o) => o.state !== "FAILED").length;
}

describe("capacity and spilling", () => {
  test("12 objects of 16 MiB (3x a 64 MiB store) stay readable and intact; the spill directory holds the overflow", async () => {
    const capacity = storeBytes(cluster.info);
    assert.equal(capacity, 64 * MiB);
    const refs: ray.ObjectRef<Float64Array>[] = [];
    const checksums: number[] = [];
    let maxSpilled = 0;
    for (let k = 0; k < 12; k++) {
      const a = patterned(N16, k);
      checksums.push(report(a).checksum);
      refs.push(await ray.put(a));
      maxSpilled = Math.max(maxSpilled, spillFiles().length);
    }
    // At most 3 objects fit at once: the others live in spill files now.
    const spilledNow = spillFiles().length;
    assert.ok(
      spilledNow >= 9,
      `expected >= 9 spilled objects after 12 puts, the spill dir holds ${spilledNow}`,
    );
    assert.ok(maxSpilled >= 9);
    // The store's own account agrees with the spill directory.
    const spilledStats = await storeStats();
    assert.equal(spilledStats.spilledObjects, spilledNow, "spilled objects = files in the spill directory");
    assert.ok(
      spilledStats.spilledBytes >= spilledNow * N16 * 8,
      `spilled bytes ${spilledStats.spilledBytes} cover ${spilledNow} objects of 16 MiB`,
    );
    assert.equal(
      spilledStats.numObjects + spilledStats.spilledObjects,
      12,
      "every object is in memory or on disk",
    );
    assert.ok(spilledStats.spilledObjectsTotal >= spilledNow);
    assert.ok(spilledStats.usedBytes <= capacity && spilledStats.usedBytes >= spilledStats.objectBytes);

    // Read each back, one at a time (each read restores it and may spill another).
    for (let k = 0; k < refs.length; k++) {
      let v: Float64Array | undefined = await ray.get(refs[k]!, { timeout: 20_000 });
      assert.equal(v.length, N16, `object ${k} length`);
      assert.equal(v[0], -k - 1, `object ${k} first sentinel`);
      assert.equal(v[N16 - 1], k + 0.5, `object ${k} last sentinel`);
      assert.equal(report(v).checksum, checksums[k], `object ${k} checksum`);
      assert.equal(v.buffer.byteLength, capacity, `object ${k} is read in place after its restore`);
      v = undefined;
      gc(); // drop the view so the object can be spilled again for the next restore
    }
    assert.ok(spillFiles().length > 0, "objects are still spilled while the reads go on");

    // A spilled object read by a worker (another process) is restored for it.
    const oldest = await ray.get(describeArg.remote(refs[0]!), { timeout: 20_000 });
    assert.equal(oldest.checksum, checksums[0]);
    assert.equal(oldest.first, -1);
    // The last object once more (it may have been spilled by the worker's restore).
    assert.equal((await ray.get(refs[11]!))[N16 - 1], 11.5);

    // Released: every spill file goes away.
    for (const r of refs) r.release();
    await collectUntil(
      () => spillFiles().length === 0,
      10_000,
      "the spill files of released objects to be removed",
    );
    const end = await storeStats();
    assert.deepEqual(
      [end.spilledObjects, end.spilledBytes],
      [0, 0],
      "nothing counts as spilled once the objects are freed",
    );
    assert.ok(end.restoredObjectsTotal >= 9, `restored ${end.restoredObjectsTotal} objects in all`);
  });

  test("released objects leave the store: ray.memory() and store usage go back to the baseline, and no spilling follows", async () => {
    // The previous test's views (driver, worker) may not be collected yet: collect everywhere.
    await storeEmptiedEverywhere(10_000, "an empty store");
    const baselineObjects = await objectCount();

    const refs: ray.ObjectRef<Float64Array>[] = [];
    for (let k = 0; k < 3; k++) refs.push(await ray.put(patterned(N16, 20 + k)));
    let views: Float64Array[] | undefined = await ray.get(refs);
    // A worker reads them too (and so pins them while its views live).
    const inWorker = await ray.get(
      refs.map((ref) => describeArg.remote(ref)),
      { timeout: 20_000 },
    );
    assert.deepEqual(
      inWorker.map((r) => r.first),
      [-21, -22, -23],
    );
    assert.ok((await storeInUse()) >= 3 * N16 * 8, "the three objects use the store");
    assert.ok((await objectCount()) >= baselineObjects + 3);
    const sizes = (await ray.memory()).objects
      .filter((o) => refs.some((r) => r.id === o.id))
      .map((o) => o.size);
    assert.deepEqual(
      sizes.map((s) => s >= N16 * 8),
      [true, true, true],
      `ray.memory() gives stored objects their size: ${sizes.join(", ")}`,
    );

    for (const r of refs) r.release();
    views = undefined;
    await collectUntil(
      async () => (await objectCount()) === baselineObjects,
      10_000,
      "ray.memory() to return to its baseline",
    );
    // The worker's views went with its task; it collects them when idle, which unpins the objects.
    await pollUntil(async () => (await storeInUse()) === 0, 10_000, "the store to be empty again");
    assert.equal(views, undefined);

    // The space really is free: filling the store again spills nothing.
    const again: ray.ObjectRef<Float64Array>[] = [];
    for (let k = 0; k < 3; k++) again.push(await ray.put(patterned(N16, 30 + k)));
    assert.deepEqual(spillFiles(), [], "freed space is reused without spilling");
    for (const r of again) r.release();
    await pollUntil(async () => (await storeInUse()) === 0, 10_000, "the second batch to be freed");
  });

  test("a spilled object whose spill file vanished: get rejects with ObjectLostError and no store space leaks", async () => {
    const refs: ray.ObjectRef<Float64Array>[] = [];
    for (let k = 0; k < 5; k++) refs.push(await ray.put(patterned(N16, 40 + k)));
    const files = spillFiles();
    assert.ok(files.length >= 2, `two of five objects are spilled: ${files.join(", ")}`);
    for (const f of files) rmSync(join(spillRoot, `tsray-${cluster.info.headPid}`, f));

    await assert.rejects(
      async () => ray.get(refs[0]!),
      (e: unknown) => {
        assert.ok(e instanceof ray.ObjectLostError, `expected ObjectLostError, got ${String(e)}`);
        assert.ok(e.message.includes(`object ${refs[0]!.id} is lost`), `names the object: ${e.message}`);
        assert.match(e.message, /spill file .* cannot be read: ENOENT/, "and the cause");
        return true;
      },
    );
    // The objects still in memory are intact.
    assert.equal((await ray.get(refs[4]!))[0], -45);
    for (const r of refs) r.release();
    // Nothing of the failed restore stays allocated.
    await collectUntil(async () => (await storeInUse()) === 0, 10_000, "an empty store after the loss");
    assert.deepEqual(spillFiles(), []);
  });
});
