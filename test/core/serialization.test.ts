// Values through tasks (arguments and returns), registered classes, and values that
// cannot be sent (a SerializationError at the call site).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Point } from "../fixtures/classes.js";
import { cycleCheck, echo, movePoint, returnFunction, typeNames } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

function sample() {
  return {
    u8: new Uint8Array([1, 2, 3]),
    f64: new Float64Array([0.5, -1.25]),
    i16: new Int16Array([-300, 300]),
    map: new Map<unknown, unknown>([
      ["a", 1],
      [2, { b: [3] }],
    ]),
    set: new Set(["x", "y"]),
    date: new Date("2020-01-02T03:04:05.006Z"),
    small: 12n,
    huge: 2n ** 80n + 1n,
    undef: undefined,
    buf: Buffer.from("buffer bytes"),
    re: /^tsray$/i,
    nested: { deep: [null, undefined, 1] },
  };
}

describe("values through tasks", () => {
  test("arguments arrive in the worker with their types", async () => {
    const names = await ray.get(typeNames.remote(sample()));
    assert.deepEqual(names, {
      u8: "Uint8Array",
      f64: "Float64Array",
      i16: "Int16Array",
      map: "Map",
      set: "Set",
      date: "Date",
      small: "bigint",
      huge: "bigint",
      undef: "undefined",
      buf: names.buf === "Buffer" ? "Buffer" : "Uint8Array",
      re: "RegExp",
      nested: "Object",
    });
  });

  test("everything structured clone carries round-trips through a task (argument and return)", async () => {
    const value = sample();
    const back = await ray.get(echo.remote(value));
    assert.deepEqual(back, value);
  });

  test("top-level argument values round-trip one by one", async () => {
    const value = sample();
    for (const [key, v] of Object.entries(value)) {
      assert.deepEqual(await ray.get(echo.remote(v)), v, `field ${key}`);
    }
  });

  test("a put value keeps its types when read by a task", async () => {
    const ref = await ray.put(sample());
    assert.deepEqual(await ray.get(echo.remote(ref)), sample());
  });

  test("cycles keep their shape in the worker and on the way back", async () => {
    const v: { self?: unknown; list: unknown[] } = { list: [] };
    v.self = v;
    v.list.push(v);
    const out = await ray.get(cycleCheck.remote(v));
    assert.equal(out.selfOk, true);
    assert.equal(out.listOk, true);
    const back = out.value as typeof v;
    assert.equal(back.self, back);
    assert.equal(back.list[0], back);
  });
});

describe("registerSerializer", () => {
  test("a registered class round-trips through a task and keeps its methods", async () => {
    const out = await ray.get(movePoint.remote(new Point(3, 4), 1, 2));
    assert.equal(out.norm, 5);
    assert.ok(out.moved instanceof Point, `came back as ${String(out.moved)}`);
    assert.equal(out.moved.x, 4);
    assert.equal(out.moved.y, 6);
    assert.equal(out.moved.norm(), Math.hypot(4, 6));
  });

  test("a registered class nested in containers and put", async () => {
    const value = { list: [new Point(1, 1)], map: new Map([["p", new Point(0, 2)]]) };
    const back = (await ray.get(echo.remote(await ray.put(value)))) as typeof value;
    assert.ok(back.list[0] instanceof Point);
    assert.ok(back.map.get("p") instanceof Point);
    assert.equal(back.map.get("p")!.y, 2);
  });

  test("registerSerializer rejects a non-class and a serializer without functions", () => {
    assert.throws(() => ray.registerSerializer(42 as unknown as typeof Point, {} as never), TypeError);
    class Unserializable {}
    assert.throws(
      () =>
        ray.registerSerializer(Unserializable, { serialize: 1 } as unknown as ray.Serializer<Unserializable>),
      TypeError,
    );
  });
});

describe("values that cannot be sent", () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ["a function", (x: number) => x, /function/],
    ["a function nested in an object", { cb: () => 1 }, /function/],
    ["a symbol", Symbol("nope"), /symbol/],
    ["a Promise", Promise.resolve(1), /Promise/],
  ];
  for (const [name, value, pattern] of bad) {
    test(`${name} as an argument throws SerializationError synchronously at .remote()`, () => {
      let ref: unknown;
      assert.throws(
        () => {
          ref = echo.remote(value);
        },
        (err: Error) => {
          assert.ok(err instanceof ray.SerializationError, `got ${err?.constructor?.name}: ${err}`);
          assert.equal((err as ray.SerializationError).code, "SERIALIZATION_ERROR");
          assert.match(err.message, pattern);
          return true;
        },
      );
      assert.equal(ref, undefined);
    });
  }

  test("put of a function throws SerializationError", () => {
    assert.throws(() => ray.put({ f: () => 1 }), ray.SerializationError);
  });

  test("a task returning a function fails at get with an error that says so", async () => {
    await assert.rejects(ray.get(returnFunction.remote()), (err: Error) => {
      assert.ok(err instanceof ray.RayTaskError);
      assert.ok(err.cause instanceof ray.SerializationError, `cause: ${String(err.cause)}`);
      assert.match(err.message, /function/);
      return true;
    });
  });
});
