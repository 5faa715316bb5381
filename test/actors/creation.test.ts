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

  test("options() rejects an unknown option with a TypeError naming it and listing the valid options", () => {
    const valid = [
      "numCpus",
      "numGpus",
      "resources",
      "memory",
      "maxRestarts",
      "maxTaskRetries",
      "maxConcurrency",
      "name",
      "namespace",
      "lifetime",
      "getIfExists",
      "checkpointEvery",
    ];
    for (const make of [
      () => Counter.options({ numGPUs: 1 } as unknown as ray.ActorOptions),
      () => ray.remote({ numGPUs: 1 } as unknown as ray.ActorOptions, class Unused {}),
    ]) {
      assert.throws(make, (err: Error) => {
        assert.ok(err instanceof TypeError, `expected a TypeError, got ${err}`);
        assert.match(err.message, /unknown option "numGPUs"/);
        for (const k of valid)
          assert.ok(err.message.includes(k), `the message does not list "${k}": ${err.message}`);
        return true;
      });
    }
    assert.throws(
      () => Counter.options({ numGPUs: 1 } as unknown as ray.ActorOptions),
      /Counter\.options\(\)/,
    );
  });

  test("options() rejects bad values with a TypeError naming the option, the value and what is valid", () => {
    const cases: Array<[ray.ActorOptions, ...RegExp[]]> = [
      [{ maxConcurrency: 0 }, /maxConcurrency/, /an integer from 1 to \d+/, /got 0/],
      [{ maxConcurrency: 2.5 }, /maxConcurrency/, /an integer from 1 to \d+/, /got 2\.5/],
      [{ lifetime: "forever" as "detached" }, /lifetime/, /"detached" or "non_detached"/, /got "forever"/],
      [{ maxRestarts: -5 }, /maxRestarts/, /an integer >= -1/, /got -5/],
      [{ maxTaskRetries: 1.5 }, /maxTaskRetries/, /an integer >= -1/, /got 1\.5/],
      [{ numCpus: -1 }, /numCpus/, /a finite number >= 0/, /got -1/],
      [{ numGpus: Number.NaN }, /numGpus/, /a finite number >= 0/, /got NaN/],
      [{ name: "" }, /name/, /non-empty string/, /got ""/],
      [{ getIfExists: "yes" as unknown as boolean }, /getIfExists/, /a boolean/, /got "yes"/],
      [{ getIfExists: true }, /getIfExists needs a name/],
      [{ checkpointEvery: { calls: 0 } }, /calls/, /an integer >= 1/, /got 0/],
    ];
    for (const [opts, ...patterns] of cases) {
      assert.throws(
        () => Counter.options(opts),
        (err: Error) => {
          assert.ok(err instanceof TypeError, `expected a TypeError, got ${err}`);
          assert.match(err.message, /Counter\.options\(\)/);
          for (const p of patterns) assert.match(err.message, p);
          return true;
        },
        `options ${JSON.stringify(opts)}`,
      );
    }
  });

  test("a method's options() rejects an unknown option and a bad numReturns, saying what is valid", () => {
    const c = Counter.remote();
    const inc = c.increment as unknown as { options(o: unknown): unknown };
    assert.throws(() => inc.options({ numReturn: 2 }), /unknown option "numReturn"; valid: numReturns/);
    for (const n of [0, 1.5, -1]) {
      assert.throws(
        () => inc.options({ numReturns: n }),
        new RegExp(`numReturns must be an integer >= 1, got ${n}`),
        `numReturns ${n}`,
      );
    }
  });
});
