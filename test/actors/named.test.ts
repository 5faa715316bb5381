// SPEC 10: named actors (getActor, duplicate/empty/non-string names, getIfExists
// with racing creators), namespaces, detached lifetime.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Counter, type CounterHandle, createShared, HandleUser, incByName } from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil } from "../helpers/processes.js";

const NAMESPACE = "named-tests";
useCluster({ numCpus: 4, namespace: NAMESPACE, logToDriver: false });

describe("named actors", () => {
  test("getActor finds an actor by name; both handles drive the same actor", async () => {
    const c = Counter.options({ name: "finder" }).remote(10);
    assert.equal(await ray.get(c.increment.remote()), 11);
    const found = await ray.getActor<{ increment(): number; pid(): number }>("finder");
    assert.ok(found instanceof ray.ActorHandle);
    assert.equal(await ray.get(found.increment.remote()), 12);
    assert.equal(await ray.get(found.pid.remote()), await ray.get(c.pid.remote()));
    const info = (await ray.listActors()).find((a) => a.name === "finder");
    assert.equal(info?.namespace, NAMESPACE);
    assert.equal(info?.className, "Counter");
  });

  test("getActor of an unknown name rejects, naming the name and namespace", async () => {
    await assert.rejects(ray.getActor("nobody-has-this-name"), (err: Error) => {
      assert.match(err.message, /nobody-has-this-name/);
      assert.match(err.message, new RegExp(NAMESPACE));
      return true;
    });
  });

  test("a duplicate name fails the second actor's first call; the first actor is unharmed", async () => {
    const first = Counter.options({ name: "dup" }).remote();
    assert.equal(await ray.get(first.increment.remote()), 1);
    const second = Counter.options({ name: "dup" }).remote();
    await assert.rejects(ray.get(second.increment.remote()), (err: Error) => {
      assert.ok(err instanceof ray.RayActorError, `expected RayActorError, got ${err}`);
      assert.match(err.message, /"dup" already exists/);
      return true;
    });
    assert.equal(await ray.get(first.increment.remote()), 2);
    const found = await ray.getActor<{ get(): number }>("dup");
    assert.equal(await ray.get(found.get.remote()), 2);
  });

  test("empty and non-string names are rejected with TypeError at options() / remote()", async () => {
    assert.throws(
      () => Counter.options({ name: "" }),
      (err: Error) => err instanceof TypeError && /name/.test(err.message),
    );
    for (const bad of [42, null, { n: 1 }, ["a"]]) {
      assert.throws(
        () => Counter.options({ name: bad as unknown as string }),
        (err: Error) => err instanceof TypeError && /name must be a non-empty string/.test(err.message),
        `name ${JSON.stringify(bad)} accepted`,
      );
    }
    assert.throws(() => Counter.options({ namespace: "" }), TypeError);
    await assert.rejects(ray.getActor(""), TypeError);
    await assert.rejects(ray.getActor(7 as unknown as string), TypeError);
  });

  test("getIfExists returns the existing actor instead of failing", async () => {
    const a = Counter.options({ name: "gie", getIfExists: true }).remote(100);
    const b = Counter.options({ name: "gie", getIfExists: true }).remote(999);
    assert.equal(await ray.get(a.increment.remote()), 101);
    assert.equal(
      await ray.get(b.increment.remote()),
      102,
      "b must be the same actor (its constructor argument is unused)",
    );
    assert.equal(await ray.get(a.pid.remote()), await ray.get(b.pid.remote()));
  });

  test("5 racing creators with getIfExists (4 tasks and the driver) get one actor; counts add up", async () => {
    const name = "raced";
    const tasks = Array.from({ length: 4 }, () => createShared.remote(name, NAMESPACE));
    const mine = Counter.options({ name, getIfExists: true }).remote();
    const mineValue = await ray.get(mine.increment.remote());
    const results = await ray.get(tasks);
    const values = [mineValue, ...results.map((r) => r.value)].sort((x, y) => x - y);
    assert.deepEqual(values, [1, 2, 3, 4, 5]);
    const pids = new Set([await ray.get(mine.pid.remote()), ...results.map((r) => r.pid)]);
    assert.equal(pids.size, 1, `creators reached different actors: ${[...pids]}`);
    assert.equal(
      (await ray.listActors()).filter((a) => a.name === name && a.state !== "DEAD").length,
      1,
      "more than one live actor holds the name",
    );
  });

  test("a task sees the driver's namespace (getActor inside a task finds the driver's named actor)", async () => {
    const c = Counter.options({ name: "seen-from-task" }).remote();
    await ray.get(c.increment.remote());
    // Explicit namespace: always works.
    assert.equal(await ray.get(incByName.remote("seen-from-task", NAMESPACE)), 2);
    // Default namespace: the job's, as in Ray (a job's tasks and actors share its namespace).
    assert.equal(await ray.get(incByName.remote("seen-from-task")), 3);
  });
});

describe("namespaces", () => {
  test("the same name in two namespaces names two actors", async () => {
    const a = Counter.options({ name: "twin", namespace: "ns-a" }).remote(1000);
    const b = Counter.options({ name: "twin", namespace: "ns-b" }).remote(2000);
    assert.deepEqual(await ray.get([a.increment.remote(), b.increment.remote()]), [1001, 2001]);
    const fa = await ray.getActor<CounterHandleLike>("twin", { namespace: "ns-a" });
    const fb = await ray.getActor<CounterHandleLike>("twin", { namespace: "ns-b" });
    assert.deepEqual(await ray.get([fa.get.remote(), fb.get.remote()]), [1001, 2001]);
    await assert.rejects(ray.getActor("twin"), /no actor named "twin"/, "not in the driver's namespace");
  });
});

type CounterHandleLike = { get(): number };

describe("lifetime", () => {
  test('lifetime: "detached" is accepted and reported', async () => {
    const d = Counter.options({ name: "det", lifetime: "detached" }).remote(5);
    assert.equal(await ray.get(d.increment.remote()), 6);
    const info = (await ray.listActors()).find((a) => a.name === "det");
    assert.equal(info?.detached, true);
    assert.equal(info?.state, "ALIVE");
    await ray.kill(d);
  });

  test("a detached actor outlives its creator; a non-detached one dies with it (owner died)", async () => {
    const creator = HandleUser.remote();
    const creatorPid = await ray.get(creator.pid.remote());
    const detached: CounterHandle = await ray.get(creator.spawnNamed.remote("outlives", NAMESPACE, true));
    const owned: CounterHandle = await ray.get(
      creator.spawnNamed.remote("dies-with-owner", NAMESPACE, false),
    );
    assert.deepEqual(await ray.get([detached.increment.remote(), owned.increment.remote()]), [1, 1]);

    await ray.kill(creator);
    await pollUntil(() => !isAlive(creatorPid), 10_000, `creator pid ${creatorPid} to exit`);

    // The control store learns of the owner's death asynchronously: call until a call fails.
    const err = await pollUntil(
      async () => {
        try {
          await ray.get(owned.increment.remote());
          return undefined;
        } catch (e) {
          return e as Error;
        }
      },
      10_000,
      "a call to the owned actor to fail",
    );
    assert.ok(err instanceof ray.ActorDiedError, `expected ActorDiedError, got ${err}`);
    assert.match(err.message, /owner/);
    assert.equal(await ray.get(detached.increment.remote()), 2, "the detached actor is still alive");
    const again = await ray.getActor<CounterHandleLike>("outlives");
    assert.equal(await ray.get(again.get.remote()), 2);
    await ray.kill(detached);
  });
});
