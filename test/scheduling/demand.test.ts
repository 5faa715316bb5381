import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAmount, shapeKey, toDemand } from "../../src/scheduling/index.js";

const W = "remote() options";

function rejects(opts: Parameters<typeof toDemand>[0], pattern: RegExp): void {
  assert.throws(
    () => toDemand(opts, 1, W),
    (err: unknown) => {
      assert.ok(err instanceof TypeError, `expected TypeError, got ${String(err)}`);
      assert.match(err.message, /^remote\(\) options: /);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe("toDemand", () => {
  it("applies the default CPU count and omits zero entries", () => {
    assert.deepEqual(toDemand({}, 1, W), { CPU: 1 });
    assert.deepEqual(toDemand({}, 0, W), {});
    assert.deepEqual(toDemand({ numCpus: 0, numGpus: 0, resources: { a: 0 } }, 1, W), {});
  });

  it("normalizes numbers, memory and custom resources", () => {
    const d = toDemand(
      { numCpus: 0.5, numGpus: 2, memory: 1024.7, resources: { zeta: 1, alpha: 0.25 } },
      1,
      W,
    );
    assert.deepEqual(d, { CPU: 0.5, GPU: 2, memory: 1024, alpha: 0.25, zeta: 1 });
    assert.deepEqual(Object.keys(d), ["CPU", "GPU", "memory", "alpha", "zeta"]);
    assert.ok(Object.isFrozen(d));
  });

  it("allows fractional GPUs below 1 and whole GPUs above", () => {
    assert.deepEqual(toDemand({ numGpus: 0.25 }, 0, W), { GPU: 0.25 });
    assert.deepEqual(toDemand({ numGpus: 1 }, 0, W), { GPU: 1 });
    assert.deepEqual(toDemand({ numGpus: 3 }, 0, W), { GPU: 3 });
  });

  it("rounds to 0.0001 and rejects positive amounts below it", () => {
    assert.deepEqual(toDemand({ numCpus: 1 / 3 }, 0, W), { CPU: 0.3333 });
    rejects(
      { numCpus: 0.00001 },
      /numCpus must be 0 or at least 0\.0001 \(the smallest unit\), got 0\.00001$/,
    );
  });

  it("rejects negative, NaN, infinite, string and other types for numCpus/numGpus", () => {
    rejects({ numCpus: -1 }, /numCpus must be a finite number >= 0.*got -1$/);
    rejects({ numCpus: Number.NaN }, /numCpus must be a finite number >= 0.*got NaN$/);
    rejects({ numCpus: Number.POSITIVE_INFINITY }, /numCpus .*got Infinity$/);
    rejects({ numCpus: "2" }, /numCpus must be a finite number >= 0.*got "2" \(a string\)$/);
    rejects({ numCpus: null }, /numCpus .*got null$/);
    rejects({ numCpus: true }, /numCpus .*got true \(a boolean\)$/);
    rejects({ numCpus: 2n }, /numCpus .*got 2n \(a bigint\)$/);
    rejects({ numCpus: [1] }, /numCpus .*got an array$/);
    rejects({ numGpus: -0.5 }, /numGpus must be a finite number >= 0.*got -0\.5$/);
    rejects({ numGpus: {} }, /numGpus .*got an object$/);
    rejects({ memory: -1 }, /memory must be a finite number >= 0.*got -1$/);
    rejects({ numCpus: 1e20 }, /numCpus must be at most \d+, got 100000000000000000000$/);
  });

  it("rejects fractional GPU counts above 1", () => {
    rejects({ numGpus: 1.5 }, /numGpus must be a whole number when above 1 .*got 1\.5$/);
    rejects({ numGpus: 2.25 }, /numGpus .*whole number.*got 2\.25$/);
  });

  it("rejects bad resources objects, names and amounts", () => {
    rejects({ resources: [] }, /resources must be a plain object of resource name -> amount, got an array$/);
    rejects({ resources: null }, /resources must be a plain object.*got null$/);
    rejects({ resources: "GPU" }, /resources must be a plain object.*got "GPU" \(a string\)$/);
    rejects({ resources: new Map([["a", 1]]) }, /resources must be a plain object.*got a Map$/);
    rejects({ resources: { "": 1 } }, /resources names must be non-empty strings, got ""$/);
    rejects({ resources: { "  ": 1 } }, /resources names must be non-empty strings/);
    rejects(
      { resources: { [Symbol("x")]: 1 } },
      /resources names must be non-empty strings, got Symbol\(x\)/,
    );
    rejects({ resources: { accel: -1 } }, /resources\["accel"\] must be a finite number >= 0.*got -1$/);
    rejects({ resources: { accel: Number.NaN } }, /resources\["accel"\] .*got NaN$/);
    rejects({ resources: { accel: "1" } }, /resources\["accel"\] .*got "1" \(a string\)$/);
  });

  it("rejects CPU, GPU and memory inside resources, naming the right option", () => {
    rejects({ resources: { CPU: 1 } }, /resources\["CPU"\] is not allowed; use the numCpus option/);
    rejects({ resources: { GPU: 1 } }, /resources\["GPU"\] is not allowed; use the numGpus option/);
    rejects({ resources: { memory: 1 } }, /resources\["memory"\] is not allowed; use the memory option/);
    rejects({ resources: { CPU: -1 } }, /resources\["CPU"\] is not allowed/);
  });

  it("rejects options that are not an object", () => {
    assert.throws(
      () => toDemand(null as never, 1, "init()"),
      /^TypeError: init\(\): options must be an object, got null$/,
    );
  });

  it("keeps names like __proto__ as plain entries", () => {
    const resources = JSON.parse('{"__proto__": 2}') as unknown;
    const d = toDemand({ resources }, 0, W);
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
    assert.deepEqual(Object.entries(d), [["__proto__", 2]]);
  });
});

describe("shapeKey", () => {
  it("is key-order independent and skips zeros", () => {
    assert.equal(shapeKey({ CPU: 1, GPU: 0.5 }), "CPU=1,GPU=0.5");
    assert.equal(shapeKey({ GPU: 0.5, CPU: 1, x: 0 }), "CPU=1,GPU=0.5");
    assert.equal(shapeKey({ b: 1, a: 2, memory: 8 }), "memory=8,a=2,b=1");
    assert.equal(shapeKey({}), "");
  });

  it("treats equal fixed-point amounts as equal", () => {
    assert.equal(shapeKey({ CPU: 0.1 + 0.2 }), shapeKey({ CPU: 0.3 }));
    assert.equal(shapeKey(toDemand({}, 1, W)), "CPU=1");
  });

  it("quotes names that could make keys ambiguous", () => {
    assert.equal(shapeKey({ "a=1,b": 2 }), '"a=1,b"=2');
    assert.notEqual(shapeKey({ "a=1,b": 2 }), shapeKey({ a: 1, b: 2 }));
  });

  it("rejects invalid demand maps", () => {
    assert.throws(() => shapeKey({ CPU: Number.NaN }), TypeError);
    assert.throws(() => shapeKey({ GPU: 1.5 }), /whole number/);
  });
});

describe("formatAmount", () => {
  it("prints amounts without drift or trailing zeros", () => {
    assert.equal(formatAmount(1), "1");
    assert.equal(formatAmount(0.5), "0.5");
    assert.equal(formatAmount(0.1 + 0.2), "0.3");
    assert.equal(formatAmount(-0), "0");
    assert.equal(formatAmount(-1.5), "-1.5");
    assert.equal(formatAmount(1 / 3), "0.3333");
  });
});
