import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Allocation } from "../../src/scheduling/index.js";
import { NodeResources, toDemand } from "../../src/scheduling/index.js";

function take(node: NodeResources, demand: Record<string, number>): Allocation {
  const a = node.allocate(demand);
  assert.ok(a, `expected ${JSON.stringify(demand)} to fit`);
  return a;
}

describe("NodeResources construction", () => {
  it("keeps totals, defaults GPU ids and starts fully available", () => {
    const node = new NodeResources({ CPU: 4, GPU: 2, memory: 2 ** 40, accel: 0 });
    assert.deepEqual(node.total, { CPU: 4, GPU: 2, memory: 2 ** 40 });
    assert.deepEqual(node.available, node.total);
    assert.deepEqual(node.gpuIds, [0, 1]);
    assert.equal(node.utilization(), 0);
  });

  it("rejects bad totals and GPU ids", () => {
    assert.throws(
      () => new NodeResources({ CPU: -1 }),
      /^TypeError: NodeResources: total\["CPU"\] must be .*got -1$/,
    );
    assert.throws(
      () => new NodeResources({ GPU: 0.5 }),
      /total\["GPU"\] must be a whole number of GPUs, got 0\.5/,
    );
    assert.throws(() => new NodeResources({ GPU: 1.5 }), /TypeError.*whole number/);
    assert.throws(() => new NodeResources({ GPU: 2 }, [0]), /gpuIds must list exactly 2 GPU ids .*got 1 ids/);
    assert.throws(
      () => new NodeResources({ GPU: 2 }, [3, 3]),
      /gpuIds must be distinct integers >= 0, got 3 twice/,
    );
    assert.throws(() => new NodeResources({ GPU: 1 }, [-1]), /gpuIds must be distinct integers >= 0, got -1/);
  });
});

describe("NodeResources fixed point", () => {
  it("ten allocations of 0.1 CPU exactly fill 1 CPU", () => {
    const node = new NodeResources({ CPU: 1 });
    const held: Allocation[] = [];
    for (let i = 0; i < 10; i++) held.push(take(node, { CPU: 0.1 }));
    assert.equal(node.available.CPU, 0);
    assert.equal(node.allocate({ CPU: 0.1 }), null);
    assert.equal(node.fits({ CPU: 0.0001 }), false);
    for (const a of held) node.release(a);
    assert.equal(node.available.CPU, 1);
  });

  it("mixed fractions sum exactly", () => {
    const node = new NodeResources({ CPU: 1 });
    take(node, { CPU: 0.7 });
    take(node, { CPU: 0.2 });
    assert.equal(node.available.CPU, 0.1);
    assert.ok(node.fits({ CPU: 0.1 }));
    take(node, { CPU: 0.1 });
    assert.equal(node.available.CPU, 0);
  });

  it("tracks custom resources and memory and ignores zero entries", () => {
    const node = new NodeResources({ CPU: 2, memory: 1000, accel: 1 });
    const a = take(node, { CPU: 0, memory: 600, accel: 0.5 });
    assert.deepEqual(a.demand, { memory: 600, accel: 0.5 });
    assert.deepEqual(node.available, { CPU: 2, memory: 400, accel: 0.5 });
    assert.equal(node.allocate({ memory: 500 }), null);
    assert.equal(node.allocate({ other: 1 }), null);
    assert.equal(node.utilization(), 0.6);
  });
});

describe("NodeResources feasible vs fits", () => {
  it("separates never-fits from not-now", () => {
    const node = new NodeResources({ CPU: 2, GPU: 1 });
    assert.ok(node.feasible({ CPU: 2, GPU: 1 }));
    assert.equal(node.feasible({ CPU: 3 }), false);
    assert.equal(node.feasible({ GPU: 2 }), false);
    assert.equal(node.feasible({ foo: 1 }), false);
    assert.ok(node.feasible({}));
    take(node, { CPU: 2 });
    assert.equal(node.fits({ CPU: 1 }), false);
    assert.ok(node.feasible({ CPU: 1 }));
    assert.ok(node.fits({ GPU: 1 }));
  });

  it("rejects invalid demands", () => {
    const node = new NodeResources({ CPU: 2, GPU: 2 });
    assert.throws(() => node.fits({ CPU: -1 }), TypeError);
    assert.throws(() => node.allocate({ GPU: 1.5 }), /whole number/);
  });
});

describe("NodeResources GPUs", () => {
  it("whole GPUs get distinct ids, lowest first, never shared", () => {
    const node = new NodeResources({ GPU: 4 }, [7, 3, 5, 1]);
    const a = take(node, { GPU: 2 });
    assert.deepEqual(a.gpuIds, [1, 3]);
    assert.equal(a.gpuFraction, 1);
    const b = take(node, { GPU: 1 });
    assert.deepEqual(b.gpuIds, [5]);
    assert.equal(node.allocate({ GPU: 2 }), null);
    node.release(a);
    const c = take(node, { GPU: 2 });
    assert.deepEqual(c.gpuIds, [1, 3]);
  });

  it("fractional demands share one instance and pack", () => {
    const node = new NodeResources({ GPU: 2 });
    const a = take(node, { GPU: 0.5 });
    assert.deepEqual(a.gpuIds, [0]);
    assert.equal(a.gpuFraction, 0.5);
    const b = take(node, { GPU: 0.25 });
    assert.deepEqual(b.gpuIds, [0], "packs onto the most used GPU that fits");
    const c = take(node, { GPU: 0.5 });
    assert.deepEqual(c.gpuIds, [1], "GPU 0 has only 0.25 left");
    const d = take(node, { GPU: 0.25 });
    assert.deepEqual(d.gpuIds, [0]);
    assert.equal(node.available.GPU, 0.5);
    assert.equal(node.allocate({ GPU: 1 }), null, "no whole GPU is free though 0.5 is");
    assert.equal(node.allocate({ GPU: 0.75 }), null);
    for (const x of [a, b, c, d]) node.release(x);
    assert.deepEqual(take(node, { GPU: 2 }).gpuIds, [0, 1]);
  });

  it("three thirds fill one GPU without drift", () => {
    const node = new NodeResources({ GPU: 1 });
    const held = [0, 1, 2].map(() => take(node, toDemand({ numGpus: 1 / 3 }, 0, "t")));
    assert.ok(held.every((a) => a.gpuIds[0] === 0));
    assert.equal(node.available.GPU, 0.0001);
    assert.equal(node.allocate({ GPU: 0.001 }), null);
  });

  it("a whole GPU is not granted while a fraction of it is held", () => {
    const node = new NodeResources({ GPU: 2 });
    take(node, { GPU: 0.1 });
    assert.deepEqual(take(node, { GPU: 1 }).gpuIds, [1]);
    assert.equal(node.allocate({ GPU: 1 }), null);
  });

  it("allocations without GPU get no ids", () => {
    const a = take(new NodeResources({ CPU: 1, GPU: 1 }), { CPU: 1 });
    assert.deepEqual(a.gpuIds, []);
    assert.equal(a.gpuFraction, 0);
  });
});

describe("NodeResources release", () => {
  it("throws on a double release and on foreign allocations", () => {
    const node = new NodeResources({ CPU: 2 });
    const other = new NodeResources({ CPU: 2 });
    const a = take(node, { CPU: 1 });
    assert.ok(node.holds(a));
    node.release(a);
    assert.equal(node.holds(a), false);
    assert.throws(
      () => node.release(a),
      /^Error: NodeResources\.release: this allocation was already released/,
    );
    assert.equal(node.available.CPU, 2);
    const b = take(other, { CPU: 1 });
    assert.throws(() => node.release(b), /NodeResources\.release: this allocation was not made by this node/);
    assert.throws(() => node.release({ ...b }), /not made by this node/);
    assert.equal(node.heldCount, 0);
    assert.equal(other.heldCount, 1);
  });

  it("allocations are frozen", () => {
    const a = take(new NodeResources({ CPU: 1, GPU: 1 }), { CPU: 1, GPU: 1 });
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.demand) && Object.isFrozen(a.gpuIds));
  });
});

describe("NodeResources releaseCpu / reacquireCpu", () => {
  it("a blocked worker lends its CPU; reacquire may oversubscribe", () => {
    const node = new NodeResources({ CPU: 1, GPU: 1 });
    const a = take(node, { CPU: 1, GPU: 1 });
    node.releaseCpu(a);
    assert.deepEqual(node.available, { CPU: 1, GPU: 0 }, "only CPU is lent back");
    node.releaseCpu(a);
    assert.equal(node.available.CPU, 1, "a second releaseCpu is a no-op");
    const b = take(node, { CPU: 1 });
    node.reacquireCpu(a);
    assert.equal(node.available.CPU, -1);
    assert.equal(node.fits({ CPU: 0.5 }), false);
    assert.ok(node.utilization() > 1);
    node.reacquireCpu(a);
    assert.equal(node.available.CPU, -1, "a second reacquireCpu is a no-op");
    node.release(b);
    node.release(a);
    assert.deepEqual(node.available, { CPU: 1, GPU: 1 });
  });

  it("release while the CPU is lent does not return it twice", () => {
    const node = new NodeResources({ CPU: 2 });
    const a = take(node, { CPU: 1.5 });
    node.releaseCpu(a);
    assert.equal(node.available.CPU, 2);
    node.release(a);
    assert.equal(node.available.CPU, 2);
  });

  it("is a no-op without CPU and throws for allocations not held", () => {
    const node = new NodeResources({ CPU: 1, accel: 1 });
    const a = take(node, { accel: 1 });
    node.releaseCpu(a);
    node.reacquireCpu(a);
    assert.deepEqual(node.available, { CPU: 1, accel: 0 });
    node.release(a);
    assert.throws(
      () => node.releaseCpu(a),
      /NodeResources\.releaseCpu: this allocation was already released/,
    );
    assert.throws(() => node.reacquireCpu(a), /NodeResources\.reacquireCpu: .*already released/);
  });
});
