// SPEC 6 and 8: an actor's constructor runs in a dedicated worker process; its
// arguments may be refs and large values; a throwing constructor makes every later
// call fail; misuse (no .remote, unknown method, new on the class, bad arguments)
// throws clear errors at the call site.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  ArgsProbe,
  ContextProbe,
  Counter,
  Exploding,
  failWith,
  square,
  taskContext,
  whoAmI,
} from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

describe("actor creation", () => {
  test("Cls.remote() returns a handle at once; methods run on the constructed instance", async () => {
    const c = Counter.remote(41);
    assert.ok(c instanceof ray.ActorHandle);
    assert.equal(await ray.get(c.increment.remote()), 42);
    assert.equal(await ray.get(c.increment.remote(8)), 50);
    assert.equal(await ray.get(c.get.remote()), 50);
  });

  test("each actor runs in its own dedicated worker process (not the driver's, the head's, or a task's)", async () => {
    const actors = [Counter.remote(), Counter.remote(), Counter.remote()];
    const pids: number[] = await ray.get(actors.map((a) => a.pid.remote()));
    assert.equal(new Set(pids).size, 3, `actor pids ${pids} should differ`);
    for (const pid of pids) {
      assert.notEqual(pid, process.pid);
      assert.notEqual(pid, cluster.info.headPid);
    }
    const workers = (await ray.listWorkers()).map((w) => w.pid);
    for (const pid of pids) assert.ok(workers.includes(pid), `actor pid ${pid} not among workers ${workers}`);
    // Tasks never run in an actor's process.
    const taskPids: number[] = await ray.get(Array.from({ length: 8 }, () => whoAmI.remote()));
    for (const pid of taskPids) assert.ok(!pids.includes(pid), `a task ran in actor process ${pid}`);
    // The actor keeps its process: later calls report the same pid.
    assert.deepEqual(await ray.get(actors.map((a) => a.pid.remote())), pids);
  });

  test("constructor arguments may be refs (put or pending task results) and a 50 MB Float64Array", async () => {
    const n = (50 * 1024 * 1024) / 8;
    const big = new Float64Array(n);
    let expectedSum = 0;
    for (let i = 0; i < n; i++) expectedSum += big[i] = i % 1000;

    const direct = ArgsProbe.remote({ tag: "direct", nested: [1, 2] }, big);
    const viaRefs = ArgsProbe.remote(square.remote(7), await ray.put(big));
    const [a, b] = await ray.get([direct.report.remote(), viaRefs.report.remote()]);
    assert.deepEqual(a.first, { tag: "direct", nested: [1, 2] });
    assert.equal(b.first, 49, "a pending task's ref arrives as its value");
    for (const r of [a, b]) {
      assert.equal(r.bigType, "Float64Array");
      assert.equal(r.bigLength, n);
      assert.equal(r.bigSum, expectedSum);
      assert.notEqual(r.pid, process.pid);
    }
  });

  test("a throwing constructor makes every later call fail with ActorDiedError naming the error", async () => {
    const e = Exploding.remote("bad config 1234");
    const early = e.ping.remote();
    const results = await Promise.allSettled([ray.get(early), ray.get(e.ping.remote())]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      const err = (r as PromiseRejectedResult).reason as Error;
      assert.ok(err instanceof ray.ActorDiedError, `expected ActorDiedError, got ${err}`);
      assert.match(err.message, /constructor exploded: bad config 1234/);
    }
    // ... and so does a call made once the actor is known to be dead.
    await assert.rejects(ray.get(e.ping.remote()), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError);
      assert.match(err.message, /constructor exploded: bad config 1234/);
      return true;
    });
  });

  test("a constructor argument whose task failed fails every call with that task's error", async () => {
    const c = Counter.remote(failWith.remote("no starting value"));
    for (let i = 0; i < 2; i++) {
      await assert.rejects(ray.get(c.get.remote()), (err: Error) => {
        assert.ok(err instanceof ray.RayError, `expected a RayError, got ${err}`);
        assert.match(err.message, /no starting value/);
        return true;
      });
    }
  });

  test("an exception in a method fails that call only; the actor keeps its state", async () => {
    const c = Counter.remote(5);
    await assert.rejects(ray.get(c.fail.remote("nope")), (err: Error) => {
      assert.ok(err instanceof ray.RayTaskError, `expected RayTaskError, got ${err}`);
      assert.match(err.message, /nope/);
      return true;
    });
    assert.equal(await ray.get(c.increment.remote()), 6);
  });
});

describe("runtime context in actors", () => {
  /** The actor id a handle drives (its string form is `ActorHandle(<class>, <actor id>)`). */
  function actorIdOf(handle: object): string {
    const m = /^ActorHandle\(\w+, (.+)\)$/.exec(String(handle));
    assert.ok(m, `unexpected handle string ${String(handle)}`);
    return m[1]!;
  }

  test("an actor method's context names the handle's actor; a task's names none", async () => {
    const a = ContextProbe.remote();
    const b = ContextProbe.remote();
    const [ca, cb] = await ray.get([a.context.remote(), b.context.remote()]);
    assert.equal(ca!.actorId, actorIdOf(a));
    assert.equal(cb!.actorId, actorIdOf(b));
    assert.notEqual(ca!.actorId, cb!.actorId);
    for (const ctx of [ca!, cb!]) {
      assert.equal(ctx.isDriver, false);
      assert.equal(typeof ctx.taskId, "string", "an actor call has a task id");
    }
    const inTask = await ray.get(taskContext.remote());
    assert.equal(inTask.isDriver, false);
    assert.equal(typeof inTask.taskId, "string");
    assert.equal(inTask.actorId, undefined, "a task runs in no actor");
    assert.equal(ray.getRuntimeContext().actorId, undefined, "the driver is no actor");
  });
});

describe("actor misuse gives clear errors", () => {
  test("calling a method without .remote throws a TypeError that mentions .remote", () => {
    const c = Counter.remote();
    const direct = c.increment as unknown as () => number;
    assert.throws(
      () => direct(),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /\.remote\(/);
        assert.match(err.message, /increment/);
        return true;
      },
    );
  });

  test("an unknown method throws a TypeError listing the actor's methods", () => {
    const c = Counter.remote();
    assert.throws(
      () => (c as unknown as Record<string, { remote(): unknown }>).incremnt!.remote(),
      (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /incremnt/);
        for (const m of ["increment", "get", "pid", "fail"]) assert.match(err.message, new RegExp(m));
        return true;
      },
    );
  });

  test("new on the remote class, or calling it, throws a TypeError pointing at .remote()", () => {
    const AsCtor = Counter as unknown as new () => unknown;
    assert.throws(
      () => new AsCtor(),
      (err: Error) => err instanceof TypeError && /Counter\.remote\(/.test(err.message),
    );
    const AsFn = Counter as unknown as () => unknown;
    assert.throws(
      () => AsFn(),
      (err: Error) => err instanceof TypeError && /Counter\.remote\(/.test(err.message),
    );
  });

  test("a non-serializable argument throws SerializationError at the call site", () => {
    const c = Counter.remote();
    const fn = (() => 1) as unknown as number;
    assert.throws(() => c.increment.remote(fn), ray.SerializationError);
    assert.throws(() => c.increment.remote(Symbol("s") as unknown as number), ray.SerializationError);
    assert.throws(() => Counter.remote(fn), ray.SerializationError);
  });

  test("options() rejects unknown options and bad values with TypeError", () => {
    assert.throws(
      () => Counter.options({ numGPUs: 1 } as unknown as ray.ActorOptions),
      /unknown option "numGPUs"/,
    );
    assert.throws(() => Counter.options({ maxConcurrency: 0 }), TypeError);
    assert.throws(() => Counter.options({ lifetime: "forever" as "detached" }), TypeError);
    assert.throws(() => Counter.options({ getIfExists: true }), /getIfExists needs a name/);
  });
});
