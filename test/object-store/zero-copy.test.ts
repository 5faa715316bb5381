// The shared-memory object store (issue 5, SPEC behaviour 5): large values are read
// in place. A worker or the driver gets a view into the node's arena (no copy of the
// payload); typed arrays nested in objects and Maps stay out of band with their
// types; small values are copies. Views are copy-on-write: a process that writes into
// one changes only its own copy. Large task returns are written to the store by the
// worker and read in place by the driver and by other tasks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  describeAfterBarrier,
  describeArg,
  describeByGet,
  describeNested,
  Holder,
  makeArray,
  putInWorker,
  sumArray,
} from "../fixtures/store-tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { tempDir } from "../helpers/temp.js";
import { assertCopy, assertView, collectUntil, MiB, patterned, report, storeBytes } from "./helpers.js";

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 128 * MiB, logToDriver: false });

/** 8 MiB of float64. */
const N8 = MiB;

describe("zero-copy reads", () => {
  test("init() reports the native store and its size", () => {
    assert.match(cluster.info.objectStore, /native addon, zero-copy/);
    assert.equal(storeBytes(cluster.info), 128 * MiB);
  });

  test("a put 8 MiB Float64Array is a view into the arena in a worker task, in two workers alike, and in the driver", async () => {
    const capacity = storeBytes(cluster.info);
    const original = patterned(N8, 1);
    const expected = report(original);
    const ref = await ray.put(original);

    // As a (resolved) task argument and through ray.get inside a task.
    const [asArg, byGet] = await ray.get([describeArg.remote(ref), describeByGet.remote({ ref })], {
      timeout: 20_000,
    });
    for (const [r, what] of [
      [asArg, "argument"],
      [byGet, "ray.get in a task"],
    ] as const) {
      assert.notEqual(r.pid, process.pid);
      assert.equal(r.ctor, "Float64Array");
      assert.equal(r.length, N8);
      assertView(r, capacity, what);
      assert.equal(r.checksum, expected.checksum, `${what}: contents`);
      assert.deepEqual([r.first, r.last], [expected.first, expected.last]);
    }

    // Two tasks that run at once (a barrier) are in two different worker processes.
    const dir = tempDir("store-two-workers");
    const both = await ray.get(
      [describeAfterBarrier.remote({ ref }, dir, 2), describeAfterBarrier.remote({ ref }, dir, 2)],
      { timeout: 30_000 },
    );
    assert.notEqual(both[0].pid, both[1].pid, "the two reads ran in different workers");
    for (const r of both) {
      assertView(r, capacity, `worker ${r.pid}`);
      assert.equal(r.checksum, expected.checksum);
    }
    assert.equal(both[0].byteOffset, both[1].byteOffset, "both workers view the same place in the arena");

    // The driver too reads in place, repeatedly.
    const inDriver = await ray.get(ref);
    assert.ok(inDriver instanceof Float64Array);
    assertView(report(inDriver), capacity, "driver get");
    assert.equal(inDriver.buffer.byteLength, capacity);
    assert.equal(report(inDriver).checksum, expected.checksum);
    const again = await ray.get(ref);
    assert.equal(again.byteOffset, inDriver.byteOffset);
    ref.release();
  });

  test("typed arrays nested in objects and Maps stay out of band with their types; small ones are copies", async () => {
    const capacity = storeBytes(cluster.info);
    const K = 16 * 1024; // bytes: the out-of-band minimum
    const big64 = new BigInt64Array(K / 8);
    big64[0] = -(2n ** 62n);
    big64[big64.length - 1] = 123456789012345n;
    const buf = Buffer.alloc(2 * K, 7);
    buf[0] = 1;
    const dvBytes = new ArrayBuffer(K);
    new Uint8Array(dvBytes).fill(9);
    const value = {
      label: "mixed",
      f32: new Float32Array(K).map((_, i) => i / 2), // 64 KiB
      i32: new Int32Array(K / 4).map((_, i) => -i), // 16 KiB
      inner: { big64, buf, dv: new DataView(dvBytes), u8: new Uint8Array(K).fill(200) },
      map: new Map<string, unknown>([
        ["f64", new Float64Array(K / 8).fill(2.5)],
        ["tiny", new Float32Array(8).fill(3)],
      ]),
      small: new Int32Array(16).fill(5),
    };
    const ref = await ray.put(value);

    const got = (await ray.get(ref)) as typeof value;
    assert.equal(got.label, "mixed");
    assert.ok(got.f32 instanceof Float32Array && got.i32 instanceof Int32Array);
    assert.ok(got.inner.big64 instanceof BigInt64Array);
    assert.ok(Buffer.isBuffer(got.inner.buf), "a Buffer comes back as a Buffer");
    assert.ok(got.inner.dv instanceof DataView);
    assert.ok(got.inner.u8 instanceof Uint8Array && !Buffer.isBuffer(got.inner.u8));
    assert.ok(got.map instanceof Map);
    assert.ok(got.map.get("f64") instanceof Float64Array);
    for (const [what, v] of [
      ["f32", got.f32],
      ["i32", got.i32],
      ["big64", got.inner.big64],
      ["buf", got.inner.buf],
      ["dv", got.inner.dv],
      ["u8", got.inner.u8],
      ["map f64", got.map.get("f64") as Float64Array],
    ] as const) {
      assertView(report(v), capacity, `driver ${what}`);
    }
    assert.deepEqual([...got.f32.subarray(0, 3)], [0, 0.5, 1]);
    assert.equal(got.i32[K / 4 - 1], -(K / 4 - 1));
    assert.equal(got.inner.big64[0], -(2n ** 62n));
    assert.equal(got.inner.big64[got.inner.big64.length - 1], 123456789012345n);
    assert.deepEqual([got.inner.buf[0], got.inner.buf[1], got.inner.buf.length], [1, 7, 2 * K]);
    assert.equal(got.inner.dv.getUint8(K - 1), 9);
    assert.equal(got.inner.u8[K - 1], 200);
    // Below 16 KiB: copies, whatever holds them.
    assertCopy(report(got.small), "small Int32Array");
    assertCopy(report(got.map.get("tiny") as Float32Array), "small Float32Array in a Map");
    assert.deepEqual([...got.small], new Array(16).fill(5));

    // A worker sees the same: views for the large parts, copies for the small.
    const seen = await ray.get(describeNested.remote({ ref }), { timeout: 20_000 });
    const expectView = ["value.f32", "value.i32", "value.inner.big64", "value.inner.buf", "value.inner.dv"];
    for (const key of [...expectView, "value.inner.u8", "value.map.map:f64"]) {
      assert.ok(seen[key], `the worker saw ${key}`);
      assertView(seen[key]!, capacity, `worker ${key}`);
    }
    assert.equal(seen["value.inner.big64"]!.ctor, "BigInt64Array");
    assert.equal(seen["value.inner.big64"]!.first, (-(2n ** 62n)).toString());
    assert.equal(seen["value.inner.buf"]!.isBuffer, true);
    assert.equal(seen["value.inner.dv"]!.ctor, "DataView");
    assert.equal(seen["value.inner.u8"]!.ctor, "Uint8Array");
    assert.equal(seen["value.f32"]!.checksum, report(value.f32).checksum);
    assertCopy(seen["value.small"]!, "worker small");
    assertCopy(seen["value.map.map:tiny"]!, "worker tiny");
    ref.release();
  });

  test("small values and arrays below the inline threshold are copies", async () => {
    const small = new Float64Array(100).fill(1.5);
    const ref = await ray.put(small);
    const got = await ray.get(ref);
    assertCopy(report(got), "100-element Float64Array");
    assert.deepEqual([...got], [...small]);
    // 64 KiB is out of band in encoding, but the value (< 100 KiB) travels inline: a copy.
    const mid = new Float64Array(8192).fill(2.5);
    const midRef = await ray.put(mid);
    assertCopy(report(await ray.get(midRef)), "64 KiB Float64Array in the driver");
    assertCopy(
      await ray.get(describeArg.remote(midRef), { timeout: 20_000 }),
      "64 KiB Float64Array in a worker",
    );
    const plain = await ray.put({ a: 1, s: "x".repeat(1000) });
    assert.deepEqual(await ray.get(plain), { a: 1, s: "x".repeat(1000) });
  });

  test("an actor method gets a stored ref argument as a view, like a task", async () => {
    const capacity = storeBytes(cluster.info);
    const arr = patterned(N8, 5);
    const expected = report(arr);
    const ref = await ray.put(arr);
    const h = Holder.remote();
    const r = await ray.get(h.describe.remote(ref));
    assertView(r, capacity, "actor method argument");
    assert.equal(r.checksum, expected.checksum);
    await ray.kill(h);
  });
});

describe("immutability (copy-on-write views)", () => {
  test("a worker writing into the array it got changes nothing for the driver or another worker; it sees its own write", async () => {
    const original = patterned(N8, 2);
    const first = original[0]!;
    const ref = await ray.put(original);
    const a = Holder.remote();
    const b = Holder.remote();
    const [pidA, pidB] = await ray.get([a.pid.remote(), b.pid.remote()], { timeout: 20_000 });
    assert.notEqual(pidA, pidB);

    // Worker A writes arr[0] = 42 and keeps its view alive.
    assert.equal(await ray.get(a.mutate.remote({ ref }, 42), { timeout: 20_000 }), 42);
    // The driver and worker B read the sealed object: unchanged.
    assert.equal((await ray.get(ref))[0], first);
    const inB = await ray.get(b.read.remote({ ref }), { timeout: 20_000 });
    assert.equal(inB.first, first);
    assert.equal(inB.checksum, report(original).checksum);
    // A plain task (another worker process) too.
    assert.equal((await ray.get(describeArg.remote(ref), { timeout: 20_000 })).first, first);
    // Worker A, reading the object again while its written view lives, sees its own write.
    assert.deepEqual(await ray.get(a.reread.remote({ ref }), { timeout: 20_000 }), { first: 42, kept: 42 });

    // A write in the driver is private to the driver in the same way.
    const mine = await ray.get(ref);
    mine[0] = -42;
    assert.equal((await ray.get(ref))[0], -42, "the driver sees its own write while its view lives");
    assert.equal((await ray.get(b.read.remote({ ref }), { timeout: 20_000 })).first, first);
    assert.equal(await ray.get(a.drop.remote(), { timeout: 20_000 }), true);
    ref.release();
  });

  test("once a process dropped every view, its next read shows the sealed object again (private copies discarded)", async () => {
    const original = patterned(N8, 3);
    const first = original[0]!;
    const ref = await ray.put(original);
    let view: Float64Array | undefined = await ray.get(ref);
    view[0] = 1234;
    view = undefined;
    // Once the view is collected, the driver's pin goes away; a new read discards the private page.
    await collectUntil(
      async () => {
        const fresh = await ray.get(ref);
        return fresh[0] === first;
      },
      10_000,
      "the driver's next read to show the sealed value again",
    );
    ref.release();
  });
});

describe("large task returns and arguments", () => {
  test("a task returning a 20 MB Float64Array writes it to the store; the driver reads it in place", async () => {
    const capacity = storeBytes(cluster.info);
    const n = (20 * 1000 * 1000) / 8;
    const ref = makeArray.remote(n, 2, 1);
    const got = await ray.get(ref, { timeout: 30_000 });
    assert.ok(got instanceof Float64Array);
    assert.equal(got.length, n);
    assertView(report(got), capacity, "task return in the driver");
    assert.deepEqual([got[0], got[1], got[n - 1]], [1, 3, (n - 1) * 2 + 1]);

    // The return passed on as an argument to another task: read in place there too.
    const summed = await ray.get(sumArray.remote(ref), { timeout: 30_000 });
    assert.equal(summed.isView, true);
    assert.equal(summed.sum, n * 1 + 2 * ((n * (n - 1)) / 2));
    // And a large put passed as an argument.
    const put = await ray.put(new Float64Array(n).fill(0.5));
    assert.equal((await ray.get(sumArray.remote(put), { timeout: 30_000 })).sum, n * 0.5);
    put.release();
    ref.release();
  });

  test("a large put made inside a worker is read in place by the driver", async () => {
    const capacity = storeBytes(cluster.info);
    const { ref } = await ray.get(putInWorker.remote(N8, 4.25), { timeout: 30_000 });
    const got = await ray.get(ref, { timeout: 30_000 });
    assertView(report(got), capacity, "a worker's put in the driver");
    assert.equal(got.length, N8);
    assert.equal(got[N8 - 1], 4.25);
  });
});
