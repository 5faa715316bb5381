// The pure-JS store backend (issue 5): with TSRAY_SHM_BACKEND=js the same store works
// through file reads and writes of /dev/shm segments, returning copies; init() says so.
// This file runs in its own process (node --test runs each file apart): the variable is
// set before anything picks a backend, and the head and workers inherit it at init.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { describeArg, describeNested, makeArray } from "../fixtures/store-tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { assertCopy, MiB, patterned, report, storeBytes, storeInUse, storeStats } from "./helpers.js";

process.env.TSRAY_SHM_BACKEND = "js";

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });

describe("js fallback store backend", () => {
  test("init() and memory() report the js fallback", async () => {
    assert.match(cluster.info.objectStore, /js fallback, copies/);
    assert.doesNotMatch(cluster.info.objectStore, /native/);
    assert.equal(storeBytes(cluster.info), 64 * MiB);
    const stats = await storeStats();
    assert.equal(stats.backend, "js-fallback");
    assert.equal(stats.capacity, 64 * MiB);
  });

  test("a large put goes to the store and reads back correctly, as copies, in the driver and in a worker", async () => {
    const n = MiB; // 8 MiB
    const original = patterned(n, 7);
    const expected = report(original);
    const ref = await ray.put(original);
    assert.ok((await storeInUse()) >= n * 8, "the value lives in the store");

    const got = await ray.get(ref);
    assert.ok(got instanceof Float64Array);
    assertCopy(report(got), "driver get");
    assert.equal(report(got).checksum, expected.checksum);
    assert.deepEqual([got[0], got[n - 1]], [original[0], original[n - 1]]);
    got[0] = 42; // a copy: nobody else sees it
    assert.equal((await ray.get(ref))[0], original[0]);

    const inWorker = await ray.get(describeArg.remote(ref), { timeout: 20_000 });
    assertCopy(inWorker, "worker argument");
    assert.equal(inWorker.checksum, expected.checksum);

    const nested = await ray.put({ a: new Int32Array(64 * 1024).fill(-3), b: Buffer.alloc(64 * 1024, 9) });
    const seen = await ray.get(describeNested.remote({ ref: nested }), { timeout: 20_000 });
    assert.equal(seen["value.a"]!.ctor, "Int32Array");
    assert.equal(seen["value.a"]!.first, -3);
    assert.equal(seen["value.b"]!.isBuffer, true);
    assertCopy(seen["value.a"]!, "nested Int32Array");
    nested.release();
    ref.release();
  });

  test("a large task return is stored by the worker and read by the driver", async () => {
    const n = (20 * 1000 * 1000) / 8;
    const got = await ray.get(makeArray.remote(n, 1, 0.5), { timeout: 30_000 });
    assert.equal(got.length, n);
    assert.deepEqual([got[0], got[n - 1]], [0.5, n - 0.5]);
    assertCopy(report(got), "task return");
  });
});
