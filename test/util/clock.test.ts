// FakeClock: timers run in due order (ties in the order set), at their own due time,
// with promise reactions settled between them; intervals, clear and refresh; and
// `until` jumps fake time to the next timer instead of waiting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock, realClock } from "../../src/util/clock.js";

test("timers run in due order, ties in the order they were set, each at its due time", async () => {
  const clock = new FakeClock(100);
  const ran: Array<[string, number]> = [];
  const at = (name: string) => () => ran.push([name, clock.now()]);
  clock.setTimeout(at("c"), 30);
  clock.setTimeout(at("a"), 10);
  clock.setTimeout(at("b1"), 20);
  clock.setTimeout(at("b2"), 20);
  await clock.advance(19);
  assert.deepEqual(ran, [["a", 110]]);
  assert.equal(clock.now(), 119);
  await clock.advance(100);
  assert.deepEqual(ran, [
    ["a", 110],
    ["b1", 120],
    ["b2", 120],
    ["c", 130],
  ]);
  assert.equal(clock.now(), 219);
  assert.equal(clock.pending, 0);
});

test("promise reactions a timer starts settle before the next timer runs", async () => {
  const clock = new FakeClock();
  const order: string[] = [];
  clock.setTimeout(() => {
    order.push("t1");
    void Promise.resolve()
      .then(() => undefined)
      .then(() => order.push("t1 reaction"));
  }, 5);
  clock.setTimeout(() => order.push("t2"), 5);
  await clock.advance(5);
  assert.deepEqual(order, ["t1", "t1 reaction", "t2"]);
});

test("intervals repeat until cleared; clear of a pending timeout stops it; refresh restarts the delay", async () => {
  const clock = new FakeClock();
  const ticks: number[] = [];
  const iv = clock.setInterval(() => {
    ticks.push(clock.now());
    if (ticks.length === 3) clock.clearTimer(iv);
  }, 10);
  let fired = false;
  const t = clock.setTimeout(() => {
    fired = true;
  }, 15);
  clock.clearTimer(t);
  clock.clearTimer(t);
  const r: number[] = [];
  const refreshed = clock.setTimeout(() => r.push(clock.now()), 10);
  await clock.advance(8);
  refreshed.refresh();
  await clock.advance(100);
  assert.deepEqual(ticks, [10, 20, 30]);
  assert.equal(fired, false);
  assert.deepEqual(r, [18], "refresh at 8 moved the 10 ms timeout to 18");
  assert.throws(() => clock.setInterval(() => undefined, 0), /ms must be > 0, got 0/);
  await assert.rejects(clock.advance(-1), /ms must be >= 0, got -1/);
});

test("until jumps to each next timer and returns the result; it fails past its fake-time bound", async () => {
  const clock = new FakeClock();
  const slow = new Promise<string>((resolve) => clock.setTimeout(() => resolve("done"), 60_000));
  assert.equal(await clock.until(slow, 120_000), "done");
  assert.equal(clock.now(), 60_000);
  const never = new Promise<never>((resolve) => clock.setTimeout(() => resolve(undefined as never), 10_000));
  await assert.rejects(
    clock.until(never, 5_000),
    /not settled after 5000 ms of fake time \(1 timers pending\)/,
  );
});

test("the real clock is monotonic and its timers run", async () => {
  const t0 = realClock.now();
  await new Promise<void>((resolve) => realClock.setTimeout(resolve, 5));
  assert.ok(realClock.now() >= t0 + 4, "about 5 ms passed");
  let ran = false;
  const t = realClock.setTimeout(() => {
    ran = true;
  }, 1);
  realClock.clearTimer(t);
  await new Promise<void>((resolve) => realClock.setTimeout(resolve, 20));
  assert.equal(ran, false);
});
