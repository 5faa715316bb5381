// SPEC 9: handles can be passed to tasks and other actors, returned from tasks and
// methods, stored with put, and nested in values; every copy drives the same actor,
// and many holders calling one actor at once lose no call.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  Counter,
  type CounterHandle,
  delayed,
  echoHandle,
  HandleUser,
  incFromRef,
  incNested,
  incVia,
  makeCounter,
} from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 4, logToDriver: false });

/** The handle is a handle, names the same actor, and the actor's count is `expected` after one more increment. */
async function sameActor(copy: CounterHandle, original: CounterHandle): Promise<void> {
  assert.ok(copy instanceof ray.ActorHandle, `not a handle: ${String(copy)}`);
  const [p1, p2] = await ray.get([copy.pid.remote(), original.pid.remote()]);
  assert.equal(p1, p2, "the copy drives a different process");
  const before = await ray.get(original.get.remote());
  assert.equal(await ray.get(copy.increment.remote()), before + 1);
  assert.equal(await ray.get(original.get.remote()), before + 1);
}

describe("handles travel", () => {
  test("passed to a task: the task's calls reach the same actor", async () => {
    const c = Counter.remote();
    assert.equal(await ray.get(incVia.remote(c, 10)), 10);
    assert.equal(await ray.get(c.get.remote()), 10);
  });

  test("passed to a task at once, while the actor is still being created (its constructor argument is pending)", async () => {
    // The creator registers the actor only once its constructor arguments are ready;
    // the handle can reach another process before that. Its calls must wait for the
    // actor, as the creator's own calls do, not fail with "unknown actor".
    // The driver and the task are two callers: each one's calls run in its own order,
    // but which caller reaches the actor first once it exists is not defined.
    const c = Counter.remote(delayed.remote(100, 300));
    const viaTask = incVia.remote(c, 1);
    const fromDriver = c.increment.remote();
    const results = await ray.get([fromDriver, viaTask]);
    assert.deepEqual([...results].sort(), [101, 102]);
    assert.equal(await ray.get(c.get.remote()), 102);
  });

  test("passed to another actor: its calls reach the same actor", async () => {
    const c = Counter.remote(100);
    const u = HandleUser.remote();
    assert.equal(await ray.get(u.incMany.remote(c, 5)), 105);
    assert.equal(await ray.get(c.increment.remote()), 106);
  });

  test("returned from a task (created there, or passed through)", async () => {
    const created: CounterHandle = await ray.get(makeCounter.remote(50));
    assert.ok(created instanceof ray.ActorHandle);
    assert.equal(await ray.get(created.increment.remote()), 51);
    const c = Counter.remote();
    const back = await ray.get(echoHandle.remote(c));
    await sameActor(back, c);
  });

  test("returned from an actor method (created there, or kept from an earlier call)", async () => {
    const u = HandleUser.remote();
    const spawned = await ray.get(u.spawnCounter.remote(7));
    assert.equal(await ray.get(spawned.increment.remote()), 8);
    const [spawnedPid, userPid] = await ray.get([spawned.pid.remote(), u.pid.remote()]);
    assert.notEqual(spawnedPid, userPid);

    const c = Counter.remote();
    assert.equal(await ray.get(u.keep.remote({ counter: c })), true, "a nested handle arrives as a handle");
    const back = await ray.get(u.returnKept.remote());
    await sameActor(back, c);
    const now = await ray.get(c.get.remote());
    assert.equal(await ray.get(u.incKept.remote()), now + 1, "the kept copy drives the same actor");
  });

  test("put into the object store and got back, in the driver and in a task", async () => {
    const c = Counter.remote();
    const ref = await ray.put(c);
    assert.ok(ref instanceof ray.ObjectRef);
    const back: CounterHandle = await ray.get(ref);
    await sameActor(back, c);
    // A nested ref to the put handle, read inside a task.
    const before = await ray.get(c.get.remote());
    assert.equal(await ray.get(incFromRef.remote([ref])), before + 1);
  });

  test("nested in objects and arrays, in task arguments and return values", async () => {
    const [a, b, d] = [Counter.remote(), Counter.remote(10), Counter.remote(20)];
    const values = await ray.get(incNested.remote({ label: "x", counters: [a, b], deep: { c: d } }));
    assert.deepEqual(values, [1, 11, 21]);
    const ref = await ray.put({ list: [a, b], map: new Map([["d", d]]) });
    const got = (await ray.get(ref)) as { list: CounterHandle[]; map: Map<string, CounterHandle> };
    await sameActor(got.list[0]!, a);
    await sameActor(got.list[1]!, b);
    await sameActor(got.map.get("d")!, d);
  });

  test("8 holders (4 tasks, 4 actors) x 100 concurrent calls, plus the driver's: no call is lost", async () => {
    const c = Counter.remote();
    const users = Array.from({ length: 4 }, () => HandleUser.remote());
    const runs = [
      ...Array.from({ length: 4 }, () => incVia.remote(c, 100)),
      ...users.map((u) => u.incMany.remote(c, 100)),
    ];
    const mine = Array.from({ length: 50 }, () => c.increment.remote());
    const mineValues = await ray.get(mine);
    for (let i = 1; i < mineValues.length; i++) {
      assert.ok(mineValues[i]! > mineValues[i - 1]!, "the driver's own calls ran out of order");
    }
    await ray.get(runs);
    assert.equal(await ray.get(c.get.remote()), 850);
  });

  test("a handle's toString and inspect name its class; handles are not thenables", async () => {
    const c = Counter.remote();
    assert.match(String(c), /Counter/);
    assert.equal((c as unknown as { then?: unknown }).then, undefined);
    // Awaiting a handle yields the handle itself.
    const same = await c;
    await sameActor(same, c);
  });
});
