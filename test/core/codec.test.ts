// The value codec and error encoding, tested directly (no cluster): src/serialization.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as errors from "../../src/errors/index.js";
import { decode, decodeError, encode, encodeError } from "../../src/serialization/index.js";

function roundTrip<T>(value: T): T {
  return decode(encode(value)) as T;
}

describe("codec round-trips what structured clone carries", () => {
  const cases: Array<[string, unknown]> = [
    ["Uint8Array", new Uint8Array([0, 1, 255])],
    ["Int32Array", new Int32Array([-1, 2 ** 31 - 1])],
    ["Float64Array", new Float64Array([1.5, Number.NaN, -0])],
    ["BigInt64Array", new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
    [
      "Map with object keys and values",
      new Map<unknown, unknown>([
        [1, { x: 2 }],
        ["k", [3]],
      ]),
    ],
    ["Set", new Set([1, "a", 2.5])],
    ["Date", new Date("2024-02-29T12:34:56.789Z")],
    ["small BigInt", 42n],
    ["negative BigInt", -7n],
    ["64-bit BigInt", 2n ** 63n - 1n],
    ["BigInt above 64 bits", 2n ** 100n + 12345n],
    ["negative BigInt above 64 bits", -(2n ** 70n) - 1n],
    ["undefined", undefined],
    ["undefined in an array", [undefined, 1, undefined]],
    ["undefined as a property", { a: undefined, b: 1 }],
    ["null", null],
    ["NaN and Infinity", [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
    ["Buffer", Buffer.from("hello buffer")],
    ["RegExp", /ab+c/gi],
    ["nested structure", { list: [new Map([["m", new Set([new Date(0)])]])], n: { deep: { er: 1n } } }],
  ];
  for (const [name, value] of cases) {
    test(name, () => {
      const back = roundTrip(value);
      assert.deepEqual(back, value);
      if (value !== null && typeof value === "object") {
        assert.equal(
          (back as object).constructor,
          (value as object).constructor,
          `${name}: came back as ${(back as object).constructor.name}`,
        );
      }
    });
  }

  test("Buffer comes back as bytes with the same content", () => {
    const back = roundTrip(Buffer.from([1, 2, 3]));
    assert.ok(back instanceof Uint8Array);
    assert.deepEqual([...back], [1, 2, 3]);
  });

  test("RegExp keeps source and flags", () => {
    const back = roundTrip(/x\d+/muy);
    assert.ok(back instanceof RegExp);
    assert.equal(back.source, "x\\d+");
    assert.equal(back.flags, "muy");
  });

  test("cycles and shared references keep their shape", () => {
    const shared = { s: 1 };
    const root: { self?: unknown; list: unknown[]; a: object; b: object } = {
      list: [],
      a: shared,
      b: shared,
    };
    root.self = root;
    root.list.push(root, shared);
    const back = roundTrip(root);
    assert.equal(back.self, back);
    assert.equal(back.list[0], back);
    assert.equal(back.a, back.b);
    assert.equal(back.list[1], back.a);
  });

  test("cycles through a Map and a Set", () => {
    const m = new Map<string, unknown>();
    const s = new Set<unknown>();
    m.set("me", m);
    m.set("set", s);
    s.add(m);
    const back = roundTrip(m);
    assert.equal(back.get("me"), back);
    const backSet = back.get("set") as Set<unknown>;
    assert.ok(backSet instanceof Set);
    assert.equal([...backSet][0], back);
  });
});

describe("codec refuses what cannot cross a process boundary", () => {
  const refused: Array<[string, unknown, RegExp]> = [
    ["a function", () => 1, /function/],
    ["a nested function", { handler: function named() {} }, /function/],
    ["a symbol", Symbol("s"), /symbol/],
    ["a nested symbol", [1, Symbol.iterator], /symbol/],
    ["a Promise", Promise.resolve(1), /Promise/],
    ["a WeakMap", new WeakMap(), /WeakMap/],
  ];
  for (const [name, value, pattern] of refused) {
    test(`${name} → SerializationError`, () => {
      assert.throws(
        () => encode(value),
        (err: Error) => {
          assert.ok(err instanceof errors.SerializationError, `got ${err?.constructor?.name}: ${err}`);
          assert.equal((err as errors.SerializationError).code, "SERIALIZATION_ERROR");
          assert.match(err.message, pattern);
          return true;
        },
      );
    });
  }
});

describe("errors survive encode/decode", () => {
  const classes: Array<[new (m: string) => errors.RayError, string]> = [
    [errors.RayError, "RAY_ERROR"],
    [errors.RayTaskError, "RAY_TASK_ERROR"],
    [errors.RayActorError, "RAY_ACTOR_ERROR"],
    [errors.ActorDiedError, "ACTOR_DIED"],
    [errors.GetTimeoutError, "GET_TIMEOUT"],
    [errors.ObjectLostError, "OBJECT_LOST"],
    [errors.OwnerDiedError, "OWNER_DIED"],
    [errors.ObjectStoreFullError, "OBJECT_STORE_FULL"],
    [errors.WorkerCrashedError, "WORKER_CRASHED"],
    [errors.TaskCancelledError, "TASK_CANCELLED"],
    [errors.NodeDiedError, "NODE_DIED"],
    [errors.InfeasibleResourcesError, "INFEASIBLE_RESOURCES"],
    [errors.SerializationError, "SERIALIZATION_ERROR"],
    [errors.RuntimeUnavailableError, "RUNTIME_UNAVAILABLE"],
  ];
  for (const [Class, code] of classes) {
    test(`${Class.name} keeps class, code ${code}, message and stack`, () => {
      const err = new Class(`a ${Class.name} happened`);
      assert.equal(err.code, code);
      assert.equal(err.name, Class.name);
      const back = decodeError(encodeError(err));
      assert.ok(back instanceof Class, `came back as ${back.constructor.name}`);
      assert.ok(back instanceof errors.RayError);
      assert.equal((back as errors.RayError).code, code);
      assert.equal(back.message, err.message);
      assert.equal(back.stack, err.stack);
    });
  }

  test("an error nested in a value keeps its class and code", () => {
    const back = roundTrip({ failure: new errors.WorkerCrashedError("w") });
    assert.ok(back.failure instanceof errors.WorkerCrashedError);
    assert.equal(back.failure.code, "WORKER_CRASHED");
  });

  test("RayTaskError keeps its cause and is instanceof the cause's built-in class", () => {
    const wrapped = errors.RayTaskError.wrap("fn", new RangeError("out of range"), 1234);
    const back = decodeError(encodeError(wrapped));
    assert.ok(back instanceof errors.RayTaskError);
    assert.ok(back instanceof RangeError);
    assert.equal((back as errors.RayTaskError).code, "RAY_TASK_ERROR");
    assert.equal((back as errors.RayTaskError).functionName, "fn");
    assert.equal((back as errors.RayTaskError).pid, 1234);
    assert.ok(back.cause instanceof RangeError);
    assert.equal((back.cause as Error).message, "out of range");
    assert.match(back.message, /Remote traceback/);
  });

  test("built-in errors keep class, message and custom fields; unknown classes keep their name", () => {
    const t = Object.assign(new TypeError("bad type"), { detail: { n: 1 } });
    const back = decodeError(encodeError(t)) as TypeError & { detail?: unknown };
    assert.ok(back instanceof TypeError);
    assert.equal(back.message, "bad type");
    assert.deepEqual(back.detail, { n: 1 });
    class Unregistered extends Error {
      override name = "Unregistered";
    }
    const u = decodeError(encodeError(new Unregistered("u")));
    assert.ok(u instanceof Error);
    assert.equal(u.name, "Unregistered");
    assert.equal(u.message, "u");
  });

  test("a thrown non-error value is wrapped in an Error", () => {
    const back = decodeError(encodeError("just a string"));
    assert.ok(back instanceof Error);
    assert.match(back.message, /just a string/);
  });
});

describe("codec: objects of classes", () => {
  test("a class instance tsray cannot find is refused, naming the class and the fixes", () => {
    class NotExported {
      n = 1;
    }
    assert.throws(
      () => encode({ list: [new NotExported()] }),
      (err: Error) => {
        assert.ok(err instanceof errors.SerializationError, String(err));
        assert.match(err.message, /class NotExported\b.*registerSerializer.*plainObject: true/);
        return true;
      },
    );
  });

  test("an object whose prototype is no class's prototype is refused", () => {
    // Its `constructor` is a function whose `prototype` is another object: no class to rebuild it with.
    const obj = Object.create({ constructor: function Fake() {} }) as Record<string, unknown>;
    obj.own = 1;
    assert.throws(() => encode(obj), /prototype is not a class's prototype/);
  });

  test("what the codec handled before keeps its encoding: null prototypes, toJSON, built-ins", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    assert.deepEqual({ ...(roundTrip(bare) as object) }, { a: 1 });
    class Money {
      constructor(readonly cents: number) {}
      toJSON(): string {
        return `${this.cents / 100} EUR`;
      }
    }
    assert.equal(roundTrip(new Money(250)), "2.5 EUR");
    assert.equal(roundTrip(new URL("https://example.com/a")), "https://example.com/a");
    const mixed = roundTrip({
      d: new Date(5),
      s: new Set([1]),
      r: /x/g,
      e: new RangeError("r"),
      u: new Uint8Array([1]),
    });
    assert.ok(mixed.d instanceof Date && mixed.s instanceof Set && mixed.r instanceof RegExp);
    assert.ok(mixed.e instanceof RangeError && mixed.u instanceof Uint8Array);
  });
});
