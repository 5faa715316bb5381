// Class instances keep their class across processes (found by module and export, as
// remote functions are) or fail loudly with a SerializationError; plain-object
// conversion only when the class opts in.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Unlisted } from "../fixtures/classes.js";
import {
  describeInWorker,
  makeGauge,
  makeHidden,
  makeLoose,
  returnHidden,
  scaleVec,
  TreeNode,
  useHeld,
  Vec,
  Vec3,
  VecStore,
} from "../fixtures/exported-classes.js";
import { Celsius } from "../fixtures/registered-classes.js";
import { echo } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

function assertSerializationError(err: unknown, className: string): true {
  assert.ok(
    err instanceof ray.SerializationError,
    `got ${(err as Error)?.constructor?.name}: ${String(err)}`,
  );
  assert.equal(err.code, "SERIALIZATION_ERROR");
  assert.match(err.message, new RegExp(`class ${className}\\b`));
  assert.match(err.message, /registerSerializer/);
  assert.match(err.message, /plainObject/);
  return true;
}

describe("instances of exported classes round-trip with their class", () => {
  test("put/get in the driver: prototype, subclass and methods kept, constructor not rerun", async () => {
    const v = new Vec3(1, 2, 2);
    const back = await ray.get(await ray.put(v));
    assert.notEqual(back, v);
    assert.ok(back instanceof Vec3 && back instanceof Vec, `got ${String(back)}`);
    assert.equal(Object.getPrototypeOf(back), Vec3.prototype);
    assert.equal(back.norm(), 3);
    assert.deepEqual(Object.keys(back), ["x", "y", "z"]);
  });

  test("a module that calls registerClass: a worker imports it to decode, calls methods, sends it back", async () => {
    // Nothing imports registered-classes.ts in workers: the worker loads it on decode.
    const inWorker = await ray.get(describeInWorker.remote(new Celsius(100), "toFahrenheit"));
    assert.deepEqual(inWorker, { className: "Celsius", result: 212 });
    // echo lives in tasks.ts, which does not import the class: the worker re-encodes
    // an instance it only knows from decoding.
    const back = (await ray.get(echo.remote([new Celsius(-40), new Celsius(0)]))) as Celsius[];
    assert.ok(back[0] instanceof Celsius && back[1] instanceof Celsius);
    assert.deepEqual(
      back.map((c) => c.toFahrenheit()),
      [-40, 32],
    );
  });

  test("the driver decodes an instance of a class it has not imported: it imports the module, then get resolves", async () => {
    const gauge = (await ray.get(makeGauge.remote(3)))[0]!;
    assert.equal(Object.getPrototypeOf(gauge)?.constructor?.name, "Gauge");
    assert.equal(gauge.read(), "level 3");
    const { Gauge } = await import("../fixtures/worker-only-classes.js");
    assert.ok(gauge instanceof Gauge);
    assert.equal(Object.getPrototypeOf(gauge), Gauge.prototype);
  });

  test("task argument and return: instanceof holds in the worker, the returned instance is a class too", async () => {
    const out = await ray.get(scaleVec.remote(new Vec(3, 4), 2));
    assert.equal(out.normInWorker, 5);
    assert.equal(out.isVec3, false);
    assert.ok(out.scaled instanceof Vec3);
    assert.equal(out.scaled.norm(), 10);
    const sub = await ray.get(scaleVec.remote(new Vec3(0, 0, 1), 1));
    assert.equal(sub.isVec3, true);
    assert.equal(sub.normInWorker, 1);
  });

  test("a large value in the object store: instances keep their class, big arrays in them stay typed", async () => {
    const big = Object.assign(new Vec(3, 4), { samples: new Float64Array(64 * 1024).fill(0.5) });
    const back = (await ray.get(await ray.put(big))) as typeof big;
    assert.ok(back instanceof Vec);
    assert.equal(back.norm(), 5);
    assert.ok(back.samples instanceof Float64Array && back.samples.length === 64 * 1024);
    const inWorker = await ray.get(describeInWorker.remote(await ray.put(big), "norm"));
    assert.deepEqual(inWorker, { className: "Vec", result: 5 });
  });

  test("nested: arrays, Map values and keys, Sets, shared references", async () => {
    const shared = new Vec(1, 1);
    const value = {
      list: [new Vec(1, 0), new Vec3(0, 1, 0), shared],
      byName: new Map<unknown, Vec>([
        ["a", new Vec(2, 2)],
        [shared, shared],
      ]),
      set: new Set([new Vec(5, 0)]),
      again: shared,
    };
    const back = (await ray.get(echo.remote(value))) as typeof value;
    assert.ok(back.list[0] instanceof Vec && back.list[1] instanceof Vec3);
    assert.equal(back.list[1].norm(), 1);
    assert.equal(back.list[2], back.again, "shared reference kept");
    assert.ok(back.byName.get("a") instanceof Vec);
    assert.equal(back.byName.get(back.again), back.again, "an instance as a Map key");
    const [fromSet] = [...back.set];
    assert.ok(fromSet instanceof Vec);
    assert.equal(fromSet.norm(), 5);
  });

  test("cycles through instances keep both the shape and the class", async () => {
    const root = new TreeNode("root").add(new TreeNode("a").add(new TreeNode("b")));
    const back = (await ray.get(echo.remote(root))) as TreeNode;
    assert.ok(back instanceof TreeNode, `got ${Object.getPrototypeOf(back)?.constructor?.name}`);
    const b = back.children[0]!.children[0]!;
    assert.ok(b instanceof TreeNode);
    assert.equal(b.path(), "root/a/b");
    assert.equal(back.children[0]!.parent, back);
    assert.deepEqual(Object.keys(back), Object.keys(root));
  });

  test("actor methods take and return instances", async () => {
    const store = VecStore.remote();
    assert.equal(await ray.get(store.add.remote(new Vec(1, 2))), 1);
    assert.equal(await ray.get(store.add.remote(new Vec3(2, 2, 1))), 2);
    assert.deepEqual(await ray.get(store.normsInActor.remote()), [Math.hypot(1, 2), 3]);
    const sum = await ray.get(store.sum.remote());
    assert.ok(sum instanceof Vec);
    assert.deepEqual([sum.x, sum.y], [3, 4]);
    assert.equal(sum.norm(), 5);
    // A ref and an actor handle held in an instance's fields keep working.
    const held = Object.assign(new Vec(0, 0), { ref: await ray.put(40), store });
    assert.equal(await ray.get(useHeld.remote(held)), 42);
    await ray.kill(store);
  });
});

describe("instances of classes workers cannot find fail loudly", () => {
  test("a module-private class: put and .remote() throw SerializationError naming it", () => {
    assert.throws(
      () => ray.put({ deep: [makeHidden(1)] }),
      (err) => assertSerializationError(err, "Hidden"),
    );
    assert.throws(
      () => echo.remote(makeHidden(2)),
      (err) => assertSerializationError(err, "Hidden"),
    );
  });

  test("an exported class of a module tsray does not know", () => {
    assert.throws(
      () => ray.put(new Unlisted(3)),
      (err) => assertSerializationError(err, "Unlisted"),
    );
  });

  test("a class defined in the driver's entry script", () => {
    class Local {
      n = 1;
    }
    assert.throws(
      () => ray.put(new Local()),
      (err) => assertSerializationError(err, "Local"),
    );
  });

  test("a task returning one fails at get, naming the class", async () => {
    await assert.rejects(ray.get(returnHidden.remote(7)), (err: Error) => {
      assert.ok(err instanceof ray.RayTaskError, `got ${err?.constructor?.name}: ${String(err)}`);
      assertSerializationError(err.cause, "Hidden");
      return true;
    });
  });

  test("opted into plain objects: fields kept, no prototype, no error", async () => {
    const back = await ray.get(echo.remote(makeLoose(3)));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.deepEqual(back, { a: 3 });
  });
});

describe("registerClass validates its input", () => {
  test("rejects a non-class, an Error class, bad options, and the driver's entry script", () => {
    const cases: Array<[string, () => void, RegExp]> = [
      ["a number", () => ray.registerClass(42 as never), /Class must be a class, got number/],
      ["an arrow function", () => ray.registerClass((() => 1) as never), /without a prototype/],
      [
        "an Error class",
        () => ray.registerClass(class E extends Error {}),
        /Error class.*registerSerializer\(E\)/,
      ],
      ["null options", () => ray.registerClass(Vec, null as never), /options must be an object/],
      [
        "an unknown option",
        () => ray.registerClass(Vec, { plain: true } as never),
        /unknown option "plain".*plainObject/,
      ],
      [
        "a non-boolean plainObject",
        () => ray.registerClass(Vec, { plainObject: "yes" } as never),
        /plainObject must be true or false, got string yes/,
      ],
      ["a class of the entry script", () => ray.registerClass(class InEntry {}), /InEntry.*entry script/],
    ];
    for (const [what, call, pattern] of cases) {
      assert.throws(call, (err: Error) => {
        assert.ok(err instanceof TypeError, `${what}: got ${String(err)}`);
        assert.match(err.message, pattern, what);
        return true;
      });
    }
  });
});
