// Remote functions defined in the driver's entry file (this test file is the process
// entry under `node --test`): they are shipped to workers as source, so they may use
// only their parameters and globals; using a variable of the file is a TypeError at
// definition that names the variable.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { square } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

// Self-contained: parameters and globals only.
const cube = ray.remote((x: number) => x * x * x);
const describeHere = ray.remote((tag: string) => ({ tag, pid: process.pid, max: Math.max(1, 2, 3) }));
// Imports inside the function body are fine: they run in the worker.
const baseName = ray.remote(async (p: string) => {
  const path = await import("node:path");
  return path.basename(p);
});

const FACTOR = 10;
function helper(x: number): number {
  return x + 1;
}

describe("definitions in the entry file", () => {
  test("a self-contained function defined at the top level works", async () => {
    assert.equal(await ray.get(cube.remote(3)), 27);
    const out = await ray.get(describeHere.remote("t"));
    assert.equal(out.tag, "t");
    assert.equal(out.max, 3);
    assert.notEqual(out.pid, process.pid);
  });

  test("a function using `await import()` inside its body works", async () => {
    assert.equal(await ray.get(baseName.remote("/a/b/c.txt")), basename("/a/b/c.txt"));
  });

  test("a self-contained function defined inside a test works too", async () => {
    const local = ray.remote((a: number, b: number) => a * b);
    assert.equal(await ray.get(local.remote(6, 7)), 42);
  });

  test("entry-file and module-defined remote functions combine", async () => {
    assert.equal(await ray.get(cube.remote(square.remote(2))), 64);
  });

  test("using a variable of the file is a TypeError at definition naming it", () => {
    assert.throws(
      () => ray.remote((x: number) => x * FACTOR),
      (err: Error) => {
        assert.ok(err instanceof TypeError, `got ${err.constructor.name}`);
        assert.match(err.message, /FACTOR/);
        assert.match(err.message, /entry/);
        return true;
      },
    );
  });

  test("using a function or an import of the file is a TypeError naming each", () => {
    assert.throws(
      () => ray.remote((x: number) => helper(x)),
      (err: Error) => err instanceof TypeError && /helper/.test(err.message),
    );
    assert.throws(
      () => ray.remote((p: string) => basename(p)),
      (err: Error) => err instanceof TypeError && /basename/.test(err.message),
    );
    assert.throws(
      () => ray.remote((x: number) => square.remote(x)),
      (err: Error) => err instanceof TypeError && /square/.test(err.message),
    );
  });

  test("a local variable of the enclosing test function is rejected too", () => {
    const offset = 3;
    assert.throws(
      () => ray.remote((x: number) => x + offset),
      (err: Error) => err instanceof TypeError && /offset/.test(err.message),
    );
  });

  test("names declared inside the function are not mistaken for captures", async () => {
    const f = ray.remote((xs: number[]) => {
      const total = xs.reduce((a, b) => a + b, 0);
      function twice(n: number) {
        return n * 2;
      }
      return twice(total);
    });
    assert.equal(await ray.get(f.remote([1, 2, 3])), 12);
  });
});
