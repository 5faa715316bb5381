// Tasks: remote/.remote/get, numReturns, options, argument resolution, chaining,
// refs as results, nested submission from workers, async remote functions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  add,
  describeArgs,
  divmod,
  enterThenGet,
  gateOnCount,
  meetAt,
  putInWorker,
  readNested,
  slowDouble,
  square,
  submitAndReturnRef,
  sumOfSquares,
  three,
  tree,
  whoAmI,
} from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { tempDir } from "../helpers/temp.js";

const NUM_CPUS = 2;
const cluster = useCluster({ numCpus: NUM_CPUS, logToDriver: false });

describe("remote functions", () => {
  test("remote() returns an object with .remote and .options; .remote returns an ObjectRef", () => {
    assert.equal(typeof square.remote, "function");
    assert.equal(typeof square.options, "function");
    const ref = square.remote(3);
    assert.ok(ref instanceof ray.ObjectRef);
  });

  test("get of one ref returns its value", async () => {
    assert.equal(await ray.get(square.remote(12)), 144);
  });

  test("get of many refs keeps input order", async () => {
    const xs = Array.from({ length: 50 }, (_, i) => 50 - i);
    const refs = xs.map((x) => square.remote(x));
    assert.deepEqual(
      await ray.get(refs),
      xs.map((x) => x * x),
    );
  });

  test("get of an empty array is an empty array", async () => {
    assert.deepEqual(await ray.get([]), []);
  });

  test("tasks run in worker processes, not in the driver", async () => {
    const pid = await ray.get(whoAmI.remote());
    assert.notEqual(pid, process.pid);
    assert.notEqual(pid, cluster.info.headPid);
    const workerPids = (await ray.listWorkers()).map((w) => w.pid);
    assert.ok(workerPids.includes(pid), `pid ${pid} is not among the workers ${workerPids.join(", ")}`);
  });

  test("async remote functions resolve to their awaited value", async () => {
    const refs = [1, 2, 3].map((x) => slowDouble.remote(x));
    assert.deepEqual(await ray.get(refs), [2, 4, 6]);
  });

  test("numReturns via .options() gives one typed ref per element", async () => {
    const dm = divmod.options({ numReturns: 2 });
    const [q, r] = dm.remote(17, 5);
    assert.ok(q instanceof ray.ObjectRef && r instanceof ray.ObjectRef);
    assert.notEqual(q.id, r.id);
    const qv: number = await ray.get(q);
    const rv: number = await ray.get(r);
    assert.deepEqual([qv, rv], [3, 2]);
    const both: [number, number] = await ray.get([q, r]);
    assert.deepEqual(both, [3, 2]);
  });

  test("numReturns given at definition returns that many refs", async () => {
    const refs = three.remote(10) as unknown as ray.ObjectRef<number>[];
    assert.ok(Array.isArray(refs));
    assert.equal(refs.length, 3);
    assert.deepEqual(await ray.get(refs), [10, 11, 12]);
  });

  test("a task returning the wrong number of values for numReturns fails with a clear error", async () => {
    const [a, b, c] = square.options({ numReturns: 3 }).remote(2) as unknown as ray.ObjectRef<unknown>[];
    for (const ref of [a!, b!, c!]) {
      await assert.rejects(ray.get(ref), (err: Error) => {
        assert.ok(err instanceof ray.RayTaskError, `not a RayTaskError: ${err}`);
        assert.match(err.message, /numReturns: 3/);
        return true;
      });
    }
  });

  test(".options() overrides without changing the original", async () => {
    const cheap = square.options({ numCpus: 0.5, maxRetries: 0 });
    assert.notEqual(cheap, square);
    assert.equal(await ray.get(cheap.remote(9)), 81);
    // options of options merge
    const again = cheap.options({ numReturns: 1 });
    assert.equal(await ray.get(again.remote(4)), 16);
    // the original keeps its defaults
    assert.equal(await ray.get(square.remote(5)), 25);
  });

  test(".options({ name }) runs the same function and names it in errors", async () => {
    const named = square.options({ name: "squareRenamed" });
    assert.equal(await ray.get(named.remote(6)), 36);
    const [a] = square.options({ numReturns: 2, name: "renamedForErrors" }).remote(2);
    await assert.rejects(ray.get(a!), /renamedForErrors/);
  });
});

describe("arguments", () => {
  test("a top-level ref argument is replaced by its value", async () => {
    const ref = await ray.put(20);
    assert.equal(await ray.get(add.remote(ref, 1)), 21);
    const seen = await ray.get(describeArgs.remote(ref, "plain", square.remote(3)));
    assert.deepEqual(seen, [
      { isRef: false, type: "number" },
      { isRef: false, type: "string" },
      { isRef: false, type: "number" },
    ]);
  });

  test("refs nested in arrays and objects arrive as ObjectRefs and can be read in the task", async () => {
    const a = await ray.put(1);
    const b = square.remote(4);
    const inner = await ray.put("inner value");
    const seen = await ray.get(describeArgs.remote([a], { inner }));
    assert.deepEqual(seen, [
      { isRef: false, type: "Array" },
      { isRef: false, type: "Object" },
    ]);
    const out = await ray.get(readNested.remote([a, b], { inner }));
    assert.deepEqual(out, { refsSeen: true, values: [1, 16], inner: "inner value" });
  });

  test("dependent tasks chain: f(g.remote()) without a get in between", async () => {
    let ref = square.remote(2); // 4
    for (let i = 0; i < 5; i++) ref = add.remote(ref, 1);
    assert.equal(await ray.get(add.remote(ref, square.remote(3))), 4 + 5 + 9);
  });

  test("a chain whose input is still running waits for it", async () => {
    const slow = slowDouble.remote(21);
    const dependent = add.remote(slow, 0);
    assert.equal(await ray.get(dependent), 42);
  });
});

describe("refs as results", () => {
  test("a task can return a ref it put; the driver reads it with a second get", async () => {
    const outer = putInWorker.remote(5);
    const inner = await ray.get(outer);
    assert.ok(inner instanceof ray.ObjectRef, `expected an ObjectRef, got ${String(inner)}`);
    assert.deepEqual(await ray.get(inner), { fromWorker: 5 });
  });

  test("a task can return a ref to a task it submitted", async () => {
    const inner = await ray.get(submitAndReturnRef.remote(7));
    assert.ok(inner instanceof ray.ObjectRef);
    assert.equal(await ray.get(inner), 49);
  });
});

describe("nested tasks", () => {
  test("a task can submit tasks and get their results", async () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    assert.equal(
      await ray.get(sumOfSquares.remote(xs)),
      xs.reduce((s, x) => s + x * x, 0),
    );
  });

  test("many more tasks blocked in get than CPUs do not deadlock (blocked workers lend their CPU)", async () => {
    // n tasks must all be running at once (the gate opens only when all n have
    // announced themselves), each blocked in get: only possible if a worker blocked
    // in get gives its CPU back. Then each submits and gets a nested task.
    // numCpus 0.999 gives these tasks a resource shape of their own, so this test is about
    // lending only (see the pipelining test below for the default shape).
    const n = NUM_CPUS * 3;
    const dir = tempDir("lend");
    const gate = gateOnCount.options({ numCpus: 0 }).remote(dir, n, 30_000);
    const outer = enterThenGet.options({ numCpus: 0.999 });
    const refs = Array.from({ length: n }, (_, i) => outer.remote(dir, { gate }, i));
    assert.deepEqual(
      await ray.get(refs, { timeout: 60_000 }),
      Array.from({ length: n }, (_, i) => i * 2 + 1),
    );
  });

  test("tasks of one shape queued behind a waiting task start on free CPUs, even after fast tasks", async () => {
    // Fast tasks make the { CPU: 1 } shape look cheap; two tasks of that shape that must
    // run at the same time (each waits for the other) must still get a worker each.
    await ray.get(Array.from({ length: 50 }, (_, i) => square.remote(i)));
    const dir = tempDir("same-shape");
    const [a, b] = await ray.get([meetAt.remote(dir, 2, 5_000), meetAt.remote(dir, 2, 5_000)], {
      timeout: 30_000,
    });
    assert.notEqual(a.pid, b.pid);
  });

  test("a tree of tasks each blocked on its children completes", async () => {
    // depth 2: 7 tasks, 3 of them blocked in get at once on a 2-CPU node.
    assert.equal(await ray.get(tree.remote(2), { timeout: 60_000 }), 7);
  });
});
