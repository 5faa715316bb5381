// SPEC 7: calls from one caller run in submission order, one at a time; different
// actors run in parallel; maxConcurrency bounds how many calls of one actor run at
// once (default 1, or 1000 for a class with async methods, whose calls interleave
// at await points).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { AsyncTracker, Busy, Counter, delayed, Latch, PromiseTracker, Recorder } from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

describe("ordering", () => {
  test("500 calls from one caller run in submission order", async () => {
    const r = Recorder.remote();
    const refs = Array.from({ length: 500 }, (_, i) => r.record.remote(i + 1));
    const expected = Array.from({ length: 500 }, (_, i) => i + 1);
    assert.deepEqual(await ray.get(refs), expected);
    assert.deepEqual(await ray.get(r.all.remote()), expected);
  });

  test("calls share the actor's state: each sees the previous one's effect", async () => {
    const c = Counter.remote();
    const refs = Array.from({ length: 100 }, () => c.increment.remote());
    assert.deepEqual(
      await ray.get(refs),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  test("a call waiting for a pending argument holds back the calls behind it", async () => {
    const r = Recorder.remote();
    await ray.get(r.record.remote(0)); // the actor is up: nothing but the argument delays the calls
    const refs = [r.record.remote(1), r.record.remote(delayed.remote(7, 200)), r.record.remote(3)];
    assert.deepEqual(await ray.get(refs), [1, 7, 3]);
    assert.deepEqual(await ray.get(r.all.remote()), [0, 1, 7, 3]);
  });
});

describe("parallelism", () => {
  test("two actors run at the same time: their busy calls overlap in time", async () => {
    const [a, b] = [Busy.remote(), Busy.remote()];
    // Warm both up so that process start-up is not part of the measurement.
    await ray.get([a.spin.remote(0), b.spin.remote(0)]);
    const [ra, rb] = await ray.get([a.spin.remote(300), b.spin.remote(300)]);
    assert.notEqual(ra.pid, rb.pid);
    const overlap = Math.min(ra.end, rb.end) - Math.max(ra.start, rb.start);
    // Run one after the other, the overlap would be <= 0; each call lasts 300 ms.
    assert.ok(overlap > 20, `calls did not overlap: a=[${ra.start},${ra.end}] b=[${rb.start},${rb.end}]`);
  });

  test("calls to one sync actor never overlap, even when they return promises (default maxConcurrency 1)", async () => {
    const t = PromiseTracker.remote();
    const peaks = await ray.get(Array.from({ length: 6 }, () => t.step.remote(10)));
    assert.deepEqual(peaks, [1, 1, 1, 1, 1, 1]);
    assert.equal(await ray.get(t.peak.remote()), 1);
  });

  test("one busy sync call blocks the actor's next call until it ends", async () => {
    const b = Busy.remote();
    const [first, second] = await ray.get([b.spin.remote(100), b.spin.remote(0)]);
    assert.ok(second.start >= first.end, `second call started at ${second.start}, before ${first.end}`);
  });
});

describe("maxConcurrency", () => {
  test("an async actor's calls interleave: the first finishes only because the second ran", async () => {
    const l = Latch.remote();
    const first = l.first.remote();
    const second = l.second.remote();
    assert.deepEqual(await ray.get([first, second], { timeout: 10_000 }), [
      "first saw second",
      "second opened the latch",
    ]);
  });

  test("async class: many calls run at once by default", async () => {
    const t = AsyncTracker.remote();
    await ray.get(Array.from({ length: 8 }, () => t.step.remote(200)));
    assert.equal(await ray.get(t.peak.remote()), 8);
  });

  test("async class with maxConcurrency: 1 runs its calls one at a time", async () => {
    const t = AsyncTracker.options({ maxConcurrency: 1 }).remote();
    const peaks = await ray.get(Array.from({ length: 5 }, () => t.step.remote(10)));
    assert.deepEqual(peaks, [1, 1, 1, 1, 1]);
  });

  test("maxConcurrency: 3 bounds how many calls run at once", async () => {
    const t = PromiseTracker.options({ maxConcurrency: 3 }).remote();
    await ray.get(Array.from({ length: 9 }, () => t.step.remote(30)));
    assert.equal(await ray.get(t.peak.remote()), 3);
    const a = AsyncTracker.options({ maxConcurrency: 2 }).remote();
    await ray.get(Array.from({ length: 6 }, () => a.step.remote(30)));
    assert.equal(await ray.get(a.peak.remote()), 2);
  });
});
