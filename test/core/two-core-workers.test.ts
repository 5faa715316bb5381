// Issue 9, point 1: no process-wide singletons. One process hosts two core workers:
// the default instance of init() (cluster A) and a second driver of its own embedded
// cluster (startDriver, cluster B). Each ref and handle stays with the core worker that
// created or decoded it: reads, releases, collections and actor calls of one never
// reach the other, the top-level API's default is used only where nothing names a
// core worker, and stopping B leaves A working. Runs from the sources (one copy of the
// package: the test reaches both core workers' tables).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { type DriverSession, startDriver } from "../../src/api/init.js";
import { type CoreWorker, currentCoreWorker, setCoreWorker } from "../../src/core-worker/index.js";
import * as ray from "../../src/index.js";
import { collectGarbage } from "../../src/util/gc.js";
import { expectAllDead, killPids, pollUntil } from "../helpers/processes.js";

const double = ray.remote((x: number) => x * 2);
const pidOf = ray.remote(() => process.pid);
/** Returns its argument as it arrived: refs and handles nested in it come back nested. */
const echo = ray.remote((xs: unknown[]) => xs);

class Counter {
  n = 0;
  add(k: number): number {
    this.n += k;
    return this.n;
  }
  pid(): number {
    return process.pid;
  }
}
const RemoteCounter = ray.remote(Counter);

const CALL_MS = 30_000;
let a: CoreWorker;
let b: DriverSession;
const pids = new Set<number>();

/**
 * Make something on B through the public API: B is the default only while `fn` runs
 * (synchronously). What it returns must then keep reaching B on its own.
 */
function onB<T>(fn: () => T): T {
  setCoreWorker(b.coreWorker);
  try {
    return fn();
  } finally {
    setCoreWorker(a);
  }
}

/** Ids of the objects (and counted actors) a core worker tracks. */
function tracked(cw: CoreWorker): Set<string> {
  return new Set(cw.objects.memoryInfo().map((o) => o.id));
}

/** Ids `cw` tracks now that are not in `before`. */
function added(cw: CoreWorker, before: Set<string>): string[] {
  return [...tracked(cw)].filter((id) => !before.has(id));
}

/** Entries of `cw` whose id belongs to a process of `other`'s cluster (owned by `other`'s worker id). */
function entriesOf(cw: CoreWorker, other: CoreWorker): string[] {
  return [...tracked(cw)].filter((id) => id.startsWith(`${other.opts.workerId}/`));
}

before(async () => {
  const infoA = await ray.init({ numCpus: 1, logToDriver: false });
  pids.add(infoA.headPid!);
  a = currentCoreWorker()!;
  b = await startDriver({ numCpus: 1, logToDriver: false });
  pids.add(b.info.headPid!);
  assert.equal(currentCoreWorker(), a, "startDriver does not change the default instance");
});

after(async () => {
  try {
    for (const w of await ray.listWorkers()) pids.add(w.pid);
    await b?.stop();
    await ray.shutdown();
    await expectAllDead([...pids], 10_000);
  } finally {
    killPids(pids);
  }
});

describe("two core workers in one process", () => {
  test("tasks and puts of each run on and resolve through its own cluster", async () => {
    const putA = ray.put("from A") as ray.ObjectRef<string>;
    const putB = onB(() => ray.put("from B")) as ray.ObjectRef<string>;
    assert.equal(putA.ownerAddress, a.address);
    assert.equal(putB.ownerAddress, b.coreWorker.address);
    const taskA = double.remote(1);
    const taskB = onB(() => double.remote(2));
    const pidB = onB(() => pidOf.remote());
    // Read through the top-level API with A as the default: B's refs still reach B.
    assert.deepEqual(await ray.get([putA, taskA], { timeout: CALL_MS }), ["from A", 2]);
    assert.deepEqual(await ray.get([putB, taskB], { timeout: CALL_MS }), ["from B", 4]);
    const workersB = (await onB(() => ray.listWorkers())).map((w) => w.pid);
    for (const w of workersB) pids.add(w);
    assert.ok(workersB.includes(await ray.get(pidB)), "B's task ran on one of B's workers");
    assert.deepEqual(entriesOf(a, b.coreWorker), [], "A tracks none of B's objects");
    assert.deepEqual(entriesOf(b.coreWorker, a), [], "B tracks none of A's objects");
    assert.equal(ray.getRuntimeContext().workerId, a.opts.workerId, "the top-level API reads the default");
    await assert.rejects(
      ray.get([putA, putB]),
      /belong to different core workers/,
      "one get cannot mix the refs of two core workers",
    );
  });

  test("a ref nested in a value is bound to the core worker that decoded it", async () => {
    const inner = onB(() => ray.put(7)) as ray.ObjectRef<number>;
    const [viaPut] = (await ray.get(onB(() => ray.put([inner]) as ray.ObjectRef<unknown[]>))) as [
      ray.ObjectRef<number>,
    ];
    const [viaTask] = (await ray.get(
      onB(() => echo.remote([inner])),
      { timeout: CALL_MS },
    )) as [ray.ObjectRef<number>];
    assert.equal(await ray.get(viaPut), 7);
    assert.equal(await ray.get(viaTask, { timeout: CALL_MS }), 7);
    assert.equal(tracked(a).has(inner.id), false, "A never counted B's decoded refs");
    const entryB = b.coreWorker.objects.memoryInfo().find((o) => o.id === inner.id);
    assert.equal(entryB?.localRefs, 3, "B counts all three instances of its object");
    assert.deepEqual([viaPut.id, viaTask.id], [inner.id, inner.id]);
  });

  test("releasing or collecting a ref of one core worker frees it there and never touches the other", async () => {
    const beforeB = tracked(b.coreWorker);
    const beforeA = tracked(a);
    const refA = ray.put("released by hand") as ray.ObjectRef<string>;
    assert.ok(a.objects.owned(refA.id), "A tracks its put");
    refA.release();
    assert.equal(a.objects.owned(refA.id), undefined, "release() freed the object in A at once");
    const refB = onB(() => ray.put("released by hand")) as ray.ObjectRef<string>;
    refB.release();
    assert.equal(b.coreWorker.objects.owned(refB.id), undefined, "release() freed the object in B at once");
    assert.deepEqual(added(b.coreWorker, beforeB), [], "A's put and release left B's table as it was");

    // Collected, not released: each core worker's own finalizer frees its object.
    const ids = (() => {
      const ra = ray.put("collected") as ray.ObjectRef<string>;
      const rb = onB(() => ray.put("collected")) as ray.ObjectRef<string>;
      return [ra.id, rb.id];
    })();
    assert.ok(a.objects.owned(ids[0]!) && b.coreWorker.objects.owned(ids[1]!));
    await pollUntil(
      async () => {
        collectGarbage();
        await nextTurn();
        return !a.objects.owned(ids[0]!) && !b.coreWorker.objects.owned(ids[1]!);
      },
      10_000,
      "both collected refs to be freed by their own core worker",
    );
    // (The collections may also free what earlier tests dropped: only nothing new may stay.)
    assert.deepEqual(added(a, beforeA), [], "A tracks nothing it did not track before");
    assert.deepEqual(added(b.coreWorker, beforeB), [], "B tracks nothing it did not track before");
  });

  test("actor handles call through the core worker that created or decoded them", async () => {
    const hA = RemoteCounter.remote();
    const hB = onB(() => RemoteCounter.remote());
    assert.equal(await ray.get(hA.add.remote(1), { timeout: CALL_MS }), 1);
    assert.equal(await ray.get(hB.add.remote(10), { timeout: CALL_MS }), 10);
    const [pidA, pidB] = [await ray.get(hA.pid.remote()), await ray.get(hB.pid.remote())];
    pids.add(pidA);
    pids.add(pidB);
    assert.notEqual(pidA, pidB);
    // A copy of B's handle decoded by B from a task's result drives the same actor through B.
    const [copyB] = (await ray.get(
      onB(() => echo.remote([hB])),
      { timeout: CALL_MS },
    )) as [typeof hB];
    assert.equal(await ray.get(copyB.add.remote(1), { timeout: CALL_MS }), 11);
    assert.equal(await ray.get(hA.add.remote(1), { timeout: CALL_MS }), 2, "A's actor saw only A's calls");
    // kill() goes to the handle's own cluster: A's control store does not know B's actor.
    await ray.kill(hB);
    await assert.rejects(ray.get(hB.add.remote(1), { timeout: CALL_MS }), ray.ActorDiedError);
    assert.equal(await ray.get(hA.add.remote(1), { timeout: CALL_MS }), 3);
  });

  test("stopping B leaves A's refs, handles and calls working", async () => {
    const hA = RemoteCounter.remote();
    assert.equal(await ray.get(hA.add.remote(5), { timeout: CALL_MS }), 5);
    const refB = onB(() => ray.put("B's")) as ray.ObjectRef<string>;
    for (const w of await onB(() => ray.listWorkers())) pids.add(w.pid);
    await b.stop();
    assert.equal(currentCoreWorker(), a);
    assert.equal(await ray.get(hA.add.remote(1), { timeout: CALL_MS }), 6);
    assert.equal(await ray.get(double.remote(21), { timeout: CALL_MS }), 42);
    const refA = ray.put("after B") as ray.ObjectRef<string>;
    assert.equal(await ray.get(refA), "after B");
    refA.release();
    assert.equal(a.objects.owned(refA.id), undefined, "A still frees its released refs");
    refB.release(); // a ref of the stopped core worker: nothing to tell anyone, and nothing in A
    assert.deepEqual(entriesOf(a, b.coreWorker), []);
  });
});
