// put / get / wait and ObjectRef semantics.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import * as ray from "tsray";
import { echo, readNested, slowDouble, square, waitForFile } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { tempPath } from "../helpers/temp.js";

// Tasks that wait for a release file: every test releases its own; this hook (registered
// before the cluster's, so it runs first) releases any left over before shutdown.
const releases: string[] = [];
after(() => {
  for (const f of releases) writeFileSync(f, "go");
});
useCluster({ numCpus: 2, logToDriver: false });

function blocker(): { ref: ray.ObjectRef<string>; release: () => void } {
  const file = tempPath("objects", "release");
  releases.push(file);
  return { ref: waitForFile.remote(file, 30_000), release: () => writeFileSync(file, "go") };
}

describe("put and get", () => {
  test("await put(x) yields an ObjectRef whose value get returns", async () => {
    const value = { a: 1, b: [1, 2, 3], c: "text" };
    const ref = await ray.put(value);
    assert.ok(ref instanceof ray.ObjectRef);
    assert.deepEqual(await ray.get(ref), value);
  });

  test("put copies: later changes to the value are not seen", async () => {
    const value = { n: 1 };
    const ref = await ray.put(value);
    value.n = 2;
    assert.deepEqual(await ray.get(ref), { n: 1 });
  });

  test("get returns a fresh copy each time", async () => {
    const ref = await ray.put({ list: [1] });
    const a = await ray.get(ref);
    a.list.push(2);
    assert.deepEqual(await ray.get(ref), { list: [1] });
  });

  test("put of an ObjectRef is a TypeError", async () => {
    const ref = await ray.put(1);
    assert.throws(() => ray.put(ref), TypeError);
  });

  test("a put object is readable from a worker, as an argument and nested in a value", async () => {
    const num = await ray.put(6);
    const text = await ray.put("from the driver");
    assert.equal(await ray.get(square.remote(num)), 36);
    assert.deepEqual(await ray.get(readNested.remote([num], { inner: text })), {
      refsSeen: true,
      values: [6],
      inner: "from the driver",
    });
  });

  test("get of many mixes put and task refs in input order", async () => {
    const refs = [await ray.put("a"), square.remote(2), await ray.put("c"), slowDouble.remote(2)];
    assert.deepEqual(await ray.get(refs), ["a", 4, "c", 4]);
  });

  test("get with a timeout raises GetTimeoutError naming the timeout in ms", async () => {
    const b = blocker();
    try {
      await assert.rejects(ray.get(b.ref, { timeout: 50 }), (err: Error) => {
        assert.ok(err instanceof ray.GetTimeoutError, `not a GetTimeoutError: ${err}`);
        assert.ok(err instanceof ray.RayError);
        assert.equal((err as ray.GetTimeoutError).code, "GET_TIMEOUT");
        assert.match(err.message, /50 ms/);
        return true;
      });
      // the object is still pending and can be read once ready
      b.release();
      assert.equal(await ray.get(b.ref, { timeout: 30_000 }), "released");
    } finally {
      b.release();
    }
  });

  test("get of many with a timeout fails if any is not ready", async () => {
    const b = blocker();
    try {
      const ready = await ray.put(1);
      await assert.rejects(ray.get([ready, b.ref], { timeout: 30 }), ray.GetTimeoutError);
    } finally {
      b.release();
    }
  });

  test("get with timeout 0 of a ready object returns it", async () => {
    const ref = await ray.put("now");
    assert.equal(await ray.get(ref, { timeout: 0 }), "now");
  });
});

describe("ObjectRef", () => {
  test("is not a thenable: awaiting a ref yields the ref itself", async () => {
    const ref = square.remote(3);
    assert.equal("then" in ref, false);
    const awaited: unknown = await (ref as unknown as Promise<unknown>);
    assert.equal(awaited, ref);
    const put = await ray.put(5);
    assert.ok(put instanceof ray.ObjectRef);
  });

  test("a ref nested in a task result comes back as a ref to the same object", async () => {
    const inner = await ray.put(11);
    const outer = echo.remote([inner]);
    const [back] = (await ray.get(outer)) as ray.ObjectRef<number>[];
    assert.ok(back instanceof ray.ObjectRef);
    assert.equal(back.id, inner.id);
    assert.equal(await ray.get(back), 11);
  });

  test("refs have distinct ids and a readable toString", async () => {
    const a = await ray.put(1);
    const b = await ray.put(1);
    assert.notEqual(a.id, b.id);
    assert.match(String(a), /^ObjectRef\(.+\)$/);
  });
});

describe("wait", () => {
  test("returns [ready, notReady] with numReturns ready refs", async () => {
    const b = blocker();
    try {
      const fast1 = square.remote(1);
      const fast2 = square.remote(2);
      const refs = [b.ref, fast1, fast2];
      const [ready, notReady] = await ray.wait(refs, { numReturns: 2, timeout: 30_000 });
      assert.deepEqual(
        ready.map((r) => r.id),
        [fast1.id, fast2.id],
      );
      assert.deepEqual(
        notReady.map((r) => r.id),
        [b.ref.id],
      );
    } finally {
      b.release();
    }
  });

  test("default numReturns is 1", async () => {
    const b = blocker();
    try {
      const fast = square.remote(3);
      const [ready, notReady] = await ray.wait([b.ref, fast], { timeout: 30_000 });
      assert.deepEqual(
        ready.map((r) => r.id),
        [fast.id],
      );
      assert.deepEqual(
        notReady.map((r) => r.id),
        [b.ref.id],
      );
    } finally {
      b.release();
    }
  });

  test("ready refs come in input order, at most numReturns of them", async () => {
    const refs = [await ray.put("c"), await ray.put("a"), await ray.put("b")];
    const [ready, notReady] = await ray.wait(refs, { numReturns: 2 });
    assert.deepEqual(
      ready.map((r) => r.id),
      [refs[0]!.id, refs[1]!.id],
    );
    assert.deepEqual(
      notReady.map((r) => r.id),
      [refs[2]!.id],
    );
    const [all, none] = await ray.wait([...refs].reverse(), { numReturns: 3 });
    assert.deepEqual(
      all.map((r) => r.id),
      [refs[2]!.id, refs[1]!.id, refs[0]!.id],
    );
    assert.deepEqual(none, []);
  });

  test("timeout returns what is ready instead of throwing", async () => {
    const b = blocker();
    try {
      const fast = square.remote(4);
      await ray.get(fast);
      const [ready, notReady] = await ray.wait([b.ref, fast], { numReturns: 2, timeout: 50 });
      assert.deepEqual(
        ready.map((r) => r.id),
        [fast.id],
      );
      assert.deepEqual(
        notReady.map((r) => r.id),
        [b.ref.id],
      );
    } finally {
      b.release();
    }
  });

  test("timeout 0 polls without waiting", async () => {
    const b = blocker();
    try {
      const [ready, notReady] = await ray.wait([b.ref], { timeout: 0 });
      assert.deepEqual(ready, []);
      assert.equal(notReady.length, 1);
    } finally {
      b.release();
    }
  });

  test("a failed object counts as ready", async () => {
    const [failed] = square.options({ numReturns: 2 }).remote(1);
    const [ready] = await ray.wait([failed!], { timeout: 30_000 });
    assert.equal(ready.length, 1);
    await assert.rejects(ray.get(failed!), ray.RayTaskError);
  });

  test("numReturns greater than the number of refs is a TypeError", async () => {
    const refs = [await ray.put(1), await ray.put(2)];
    await assert.rejects(ray.wait(refs, { numReturns: 3 }), (err: Error) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /numReturns/);
      return true;
    });
  });

  test("non-refs and duplicates are TypeErrors", async () => {
    const ref = await ray.put(1);
    await assert.rejects(ray.wait([ref, 5 as unknown as ray.ObjectRef<number>]), TypeError);
    await assert.rejects(ray.wait([ref, ref]), TypeError);
    await assert.rejects(ray.wait(ref as unknown as ray.ObjectRef<number>[]), TypeError);
  });
});
