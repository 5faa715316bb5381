// Distributed reference counting of objects (issue 4, SPEC 5): the owner counts its
// local refs, refs lent to pending tasks and borrowers; borrowers report when they
// are done; refs nested in stored objects and in task results keep their objects
// alive; release()/using free at once, garbage collection eventually; a freed
// object leaves the owner, and ray.memory() says who holds what and why.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ray from "tsray";
import {
  putInWorker,
  RefKeeper,
  readNested,
  readNestedAfterGate,
  readThroughOuter,
  tiny,
} from "../fixtures/refcount.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import {
  allReasons,
  collectUntil,
  driverEntry,
  expectGone,
  fileAppears,
  objectInfo,
  releaseHandle,
} from "./helpers.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

/** Bound for "the worker collected and told the owner" (workers collect ~20 ms after a task). */
const SETTLE_MS = 5_000;

describe("owner-side counts and borrowers", () => {
  test("a put object nested in a running task's argument outlives the driver's ref; freed once the task is done", async () => {
    const dir = tempDir("rc-lent");
    const [started, gate] = [join(dir, "started"), join(dir, "gate")];
    const ref = await ray.put("payload held by a task");
    const id = ref.id;
    const task = readNestedAfterGate.remote({ ref }, started, gate, 30_000);
    await fileAppears(started, 10_000);

    // The owner counts the pending call (lent) and, once it registered, the worker (borrower).
    const held = await pollUntil(
      async () => {
        const o = await objectInfo(id);
        const reasons = allReasons(o);
        return reasons.some((r) => /borrowed by 1 process/.test(r)) ? o : undefined;
      },
      SETTLE_MS,
      "the worker to register as a borrower",
    );
    assert.equal(held.ownerPid, process.pid);
    const mine = held.heldBy.find((h) => h.pid === process.pid);
    assert.ok(mine, "the owner lists itself");
    assert.ok(mine.reasons.includes("1 local ref"), `owner reasons: ${mine.reasons.join(", ")}`);
    assert.ok(
      mine.reasons.includes("argument of 1 pending call"),
      `owner reasons: ${mine.reasons.join(", ")}`,
    );
    const borrower = held.heldBy.find((h) => h.pid !== process.pid);
    assert.ok(borrower, "the worker lists itself as a holder");
    assert.deepEqual(borrower.reasons, ["1 local ref"]);

    ref.release();
    const after = await objectInfo(id);
    assert.ok(after, "released by the driver while a task still holds it: it must stay alive");
    const ownerAfter = after.heldBy.find((h) => h.pid === process.pid);
    assert.deepEqual(ownerAfter?.reasons, ["argument of 1 pending call", "borrowed by 1 process"]);

    writeFileSync(gate, "");
    const out = await ray.get(task, { timeout: 20_000 });
    assert.equal(out.value, "payload held by a task");
    // The task is done and its worker collected: gone from every process.
    await expectGone([id], SETTLE_MS, `object ${id} to be freed everywhere after the task`);
  });

  test("a borrower that read a ref reports when done: the object leaves every process", async () => {
    const ref = await ray.put({ big: "y".repeat(4096) });
    const id = ref.id;
    const out = await ray.get(readNested.remote({ ref }), { timeout: 20_000 });
    assert.equal((out.value as { big: string }).big.length, 4096);
    // Still held by the driver's ref, and only there once the worker dropped its copy.
    await pollUntil(
      async () => {
        const o = await objectInfo(id);
        return o !== undefined && o.heldBy.length === 1 && o.heldBy[0]!.pid === process.pid;
      },
      SETTLE_MS,
      "the worker to drop its borrowed copy",
    );
    const o = await objectInfo(id);
    assert.deepEqual(o?.heldBy[0]?.reasons, ["1 local ref"]);
    ref.release();
    await expectGone([id], SETTLE_MS, `object ${id} to be freed`);
  });

  test("a borrower keeping a ref (in an actor's state) keeps the object alive after the owner dropped its ref", async () => {
    const keeper = RefKeeper.remote();
    const ref = await ray.put("kept by an actor");
    const id = ref.id;
    assert.equal(await ray.get(keeper.keep.remote({ ref })), id);
    ref.release();
    const held = await pollUntil(
      async () => {
        const o = await objectInfo(id);
        return o && !allReasons(o).includes("argument of 1 pending call") ? o : undefined;
      },
      SETTLE_MS,
      "the keep() call to finish on the owner's side",
    );
    const owner = held.heldBy.find((h) => h.pid === process.pid);
    assert.deepEqual(owner?.reasons, ["borrowed by 1 process"], "only the borrower keeps it alive now");
    assert.equal(await ray.get(keeper.read.remote()), "kept by an actor");
    assert.equal(await ray.get(keeper.drop.remote()), true);
    await expectGone([id], SETTLE_MS, "the object to be freed once its only borrower dropped it");
    releaseHandle(keeper);
  });

  test("refs nested in a stored object keep the inner objects alive", async () => {
    const inner = await ray.put("inner value");
    const innerId = inner.id;
    const outer = await ray.put({ inner, note: "outer" });
    const info = await objectInfo(innerId);
    assert.ok(allReasons(info).includes("inside 1 other object"), allReasons(info).join(", "));

    inner.release();
    const still = await objectInfo(innerId);
    assert.ok(still, "the inner object must outlive its own ref while the outer object holds it");
    assert.deepEqual(allReasons(still), ["inside 1 other object"]);

    const got = await ray.get(outer);
    assert.equal(got.note, "outer");
    assert.ok(got.inner instanceof ray.ObjectRef);
    assert.equal(await ray.get(got.inner), "inner value");
    // A task can read it through the outer object too (the worker borrows both meanwhile).
    assert.equal(await ray.get(readThroughOuter.remote({ outer }), { timeout: 20_000 }), "inner value");

    const outerId = outer.id;
    got.inner.release();
    outer.release();
    await expectGone([outerId, innerId], SETTLE_MS, "the outer and inner objects to be freed");
  });

  test("a ref returned inside a task's result (owned by the worker) stays readable after the task, then is freed", async () => {
    const result = putInWorker.remote("made in a worker");
    const { ref, pid } = await ray.get(result, { timeout: 20_000 });
    assert.notEqual(pid, process.pid);
    const id = ref.id;
    // Give the worker time to collect its own copy of the ref: the object must survive that.
    await pollUntil(
      async () => {
        const o = await objectInfo(id);
        const owner = o?.heldBy.find((h) => h.pid === pid);
        return owner !== undefined && owner.reasons.join() === "borrowed by 1 process";
      },
      SETTLE_MS,
      "the owner to hold the object only for its borrower",
    );
    const o = await objectInfo(id);
    assert.ok(o);
    assert.equal(o.ownerPid, pid, "the worker owns what it put");
    assert.ok(o.size > 0, "the owner reports the size");
    assert.equal(await ray.get(ref, { timeout: 10_000 }), "made in a worker");

    // Released by the driver (the ref and the result that contains it): freed in the worker too.
    ref.release();
    result.release();
    await expectGone([id, result.id], SETTLE_MS, `worker-owned object ${id} to be freed`);
  });
});

describe("dropping refs", () => {
  test("release() frees at once; a released ref cannot be read", async () => {
    const ref = await ray.put("released soon");
    const id = ref.id;
    assert.ok(await objectInfo(id));
    ref.release();
    ref.release(); // idempotent
    assert.equal(ref.isReleased, true);
    assert.equal(await objectInfo(id), undefined, "release() must free an owned, unshared object at once");
    await assert.rejects(ray.get(ref), /released/);
  });

  test("`using` releases at the end of the scope (puts and task returns)", async () => {
    let putId = "";
    let taskId = "";
    {
      using p = await ray.put("scoped value");
      using t = tiny.remote(41);
      putId = p.id;
      taskId = t.id;
      assert.equal(await ray.get(p), "scoped value");
      assert.equal(await ray.get(t), 42);
      assert.ok(await objectInfo(putId));
    }
    const m = await ray.memory();
    assert.equal(
      m.objects.find((o) => o.id === putId || o.id === taskId),
      undefined,
      "objects of refs disposed by `using` must be gone",
    );
  });

  test("a task return released before the task finished is freed when it finishes", async () => {
    const dir = tempDir("rc-early");
    const [started, gate] = [join(dir, "started"), join(dir, "gate")];
    const payload = await ray.put("p");
    const ref = readNestedAfterGate.remote({ ref: payload }, started, gate, 30_000);
    const id = ref.id;
    await fileAppears(started, 10_000);
    ref.release();
    payload.release();
    writeFileSync(gate, "");
    await expectGone([id, payload.id], SETTLE_MS, "the dropped return and its argument to be freed");
  });

  test("a ref released by hand and later collected counts once: another ref to the object keeps it", async () => {
    const inner = await ray.put("kept by the other ref");
    const outer = await ray.put({ inner });
    const weak = await (async () => {
      const { inner: copy } = await ray.get(outer); // a second instance of the same ref
      assert.equal(copy.id, inner.id);
      copy.release();
      return new WeakRef(copy);
    })();
    outer.release();
    await pollUntil(
      async () => {
        await ray.memory({ collectGarbage: true });
        return weak.deref() === undefined;
      },
      10_000,
      "the released copy to be collected",
    );
    await ray.memory({ collectGarbage: true }); // its finalizer has run by now
    assert.ok(await objectInfo(inner.id), "the collection of a released copy must not release again");
    assert.equal(await ray.get(inner), "kept by the other ref");
    inner.release();
    assert.equal(await objectInfo(inner.id), undefined, "the last ref released frees it at once");
  });

  test("refs dropped without release() are freed when garbage collected", async () => {
    const ids = await (async () => {
      const a = await ray.put("collected");
      const b = tiny.remote(1);
      await ray.get(b);
      return [a.id, b.id];
    })();
    assert.equal((await ray.memory()).objects.filter((o) => ids.includes(o.id)).length, 2);
    await collectUntil(
      async () => !(await ray.memory()).objects.some((o) => ids.includes(o.id)),
      10_000,
      "collected refs to free their objects",
    );
  });
});

describe("freeing", () => {
  test("a burst of 1,000 puts, released: the owner's objects and bytes return to the baseline", async () => {
    await collectUntil(async () => true, 1_000, "a collection");
    const before = await driverEntry();
    const refs: ray.ObjectRef<string>[] = [];
    const value = "k".repeat(1024);
    for (let i = 0; i < 1_000; i++) refs.push(await ray.put(value));
    const ids = new Set(refs.map((r) => r.id));
    const during = await ray.memory();
    const mine = during.processes.find((p) => p.pid === process.pid)!;
    assert.equal(during.objects.filter((o) => ids.has(o.id)).length, 1_000, "every put is listed");
    assert.ok(
      mine.bytes >= 1_000 * 1024,
      `the driver owns ${mine.bytes} bytes with 1,000 puts of 1 KiB alive`,
    );
    for (const r of refs) r.release();
    const after = await driverEntry();
    assert.ok(after.objects <= before.objects, `objects ${before.objects} -> ${after.objects} after release`);
    assert.ok(after.bytes <= before.bytes, `bytes ${before.bytes} -> ${after.bytes} after release`);
    assert.equal((await ray.memory()).objects.filter((o) => ids.has(o.id)).length, 0);
  });
});

describe("introspection", () => {
  test("memory() lists live objects with owner, size and why each is alive; `tsray memory` prints them", async () => {
    const dir = tempDir("rc-mem");
    const [started, gate] = [join(dir, "started"), join(dir, "gate")];
    const plain = await ray.put("x".repeat(2000));
    const borrowed = await ray.put("lent and borrowed");
    const inner = await ray.put("inside");
    const outer = await ray.put([inner]);
    inner.release();
    const task = readNestedAfterGate.remote({ ref: borrowed }, started, gate, 30_000);
    try {
      await fileAppears(started, 10_000);
      const m = await pollUntil(
        async () => {
          const s = await ray.memory();
          const b = s.objects.find((o) => o.id === borrowed.id);
          return allReasons(b).includes("borrowed by 1 process") ? s : undefined;
        },
        SETTLE_MS,
        "the borrower to register",
      );
      const me = m.processes.find((p) => p.pid === process.pid);
      assert.ok(me, "the driver is listed among the processes");
      assert.equal(me.kind, "driver");
      assert.ok(me.rss > 0);
      assert.ok(
        m.processes.some((p) => p.kind === "worker"),
        "workers are listed",
      );

      const p = m.objects.find((o) => o.id === plain.id);
      assert.ok(p);
      assert.equal(p.ownerPid, process.pid);
      assert.equal(typeof p.owner, "string");
      assert.ok(p.size >= 2000, `size ${p.size}`);
      assert.equal(p.state, "READY");
      assert.deepEqual(allReasons(p), ["1 local ref"]);

      const b = m.objects.find((o) => o.id === borrowed.id);
      assert.ok(allReasons(b).includes("argument of 1 pending call"), allReasons(b).join(", "));
      assert.ok(allReasons(b).includes("borrowed by 1 process"), allReasons(b).join(", "));
      assert.equal(b!.heldBy.length, 2, "owner and borrower both hold it");

      const i = m.objects.find((o) => o.id === inner.id);
      assert.deepEqual(allReasons(i), ["inside 1 other object"]);

      // The CLI asks the head for the same report.
      const cli = await runCliMemory([]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /Processes:/);
      assert.ok(cli.stdout.includes(plain.id), `tsray memory does not list ${plain.id}:\n${cli.stdout}`);
      assert.ok(cli.stdout.includes(inner.id));
      assert.match(cli.stdout, /1 local ref/);
      assert.match(cli.stdout, /borrowed by 1 process/);
      assert.match(cli.stdout, /inside 1 other object/);
      assert.match(cli.stdout, new RegExp(`pid ${process.pid}`));
      assert.match(
        cli.stdout,
        /Object store \(node \w+, native\):\n {2}in use .* of .* \(\d+\.\d% full, \d+ bytes\)/,
      );
      assert.match(cli.stdout, /spilled now .*; since start: spilled .*; restored/);
      const json = await runCliMemory(["--json"]);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout) as ray.MemorySummary;
      assert.ok(parsed.objects.some((o) => o.id === borrowed.id && o.ownerPid === process.pid));
      assert.equal(parsed.objectStores.length, 1, "one node, one object store");
      assert.equal(parsed.objectStores[0]!.backend, "native");
      assert.equal(parsed.objectStores[0]!.capacity, m.objectStores[0]!.capacity);
      assert.ok(parsed.processes.every((p) => p.heapUsed > 0 && p.rss > 0));
      const collected = await runCliMemory(["--collect-garbage", "--json"]);
      assert.equal(collected.code, 0, collected.stderr);
      assert.ok((JSON.parse(collected.stdout) as ray.MemorySummary).objects.some((o) => o.id === plain.id));
    } finally {
      writeFileSync(gate, "");
      await ray.get(task, { timeout: 20_000 });
      for (const r of [plain, borrowed, outer]) r.release();
    }
    await expectGone(
      [plain.id, borrowed.id, inner.id, outer.id],
      SETTLE_MS,
      "the listed objects to be freed",
    );
  });
});

describe("memory() options", () => {
  test("collectGarbage frees what only garbage held; bad options are TypeErrors naming the option", async () => {
    const id = await (async () => {
      const ref = await ray.put("dropped without release()");
      return ref.id;
    })();
    assert.ok(
      (await ray.memory()).objects.some((o) => o.id === id),
      "listed while its ref is uncollected",
    );
    // The driver collects (and runs its finalizers) before it reports: its own object is freed by then.
    const m = await ray.memory({ collectGarbage: true });
    assert.equal(
      m.objects.find((o) => o.id === id),
      undefined,
      "memory({ collectGarbage: true }) does not list an object only garbage referred to",
    );
    await assert.rejects(
      async () => ray.memory({ collectGarbage: "yes" as unknown as boolean }),
      (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.match(e.message, /memory\(\): collectGarbage must be true or false, got "yes"/);
        return true;
      },
    );
    await assert.rejects(
      async () => ray.memory({ gc: true } as unknown as ray.MemoryOptions),
      /memory\(\): unknown option "gc"; valid options are: collectGarbage/,
    );
  });
});

/** Run `tsray memory --address <head> ...extra` with the compiled CLI. */
function runCliMemory(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cliMain = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliMain, "memory", "--address", cluster.info.address, ...extra],
      { env, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
