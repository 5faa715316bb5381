// SPEC 11: kill ends an actor at once; its in-flight, queued and later calls fail
// with ActorDiedError saying it was killed; its process is gone; listActors shows
// the state. kill of a non-handle is a TypeError.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Blocker, Counter } from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil, within } from "../helpers/processes.js";

useCluster({ numCpus: 2, logToDriver: false });

function expectKilled(err: unknown): true {
  assert.ok(err instanceof ray.ActorDiedError, `expected ActorDiedError, got ${String(err)}`);
  assert.ok(err instanceof ray.RayActorError);
  assert.match(err.message, /killed/);
  return true;
}

describe("kill", () => {
  test("in-flight and queued calls fail with ActorDiedError saying killed; so do later calls", async () => {
    const b = Blocker.remote();
    const pid = await ray.get(b.pid.remote());
    const stuck = b.block.remote(); // never finishes on its own
    const queued = [b.ping.remote(), b.ping.remote(), b.pid.remote()]; // wait behind it
    await ray.kill(b);
    const settled = await within(
      Promise.allSettled(([stuck, ...queued] as ray.ObjectRef<unknown>[]).map((r) => ray.get(r))),
      10_000,
      "the pending calls of a killed actor",
    );
    for (const s of settled) {
      assert.equal(s.status, "rejected");
      expectKilled((s as PromiseRejectedResult).reason);
    }
    await assert.rejects(ray.get(b.ping.remote()), expectKilled);
    await pollUntil(() => !isAlive(pid), 10_000, `killed actor's process ${pid} to exit`);
  });

  test("a call made right after `await kill()` fails at once, without reaching the dying process", async () => {
    // kill() resolves once the kill is ordered, possibly before the process is gone
    // and before this driver's connection to it closes: a call sent on that connection
    // could still run. The killer knows the actor is dead from kill()'s reply, so the
    // call fails locally: it is settled before any message could have gone out.
    for (const noRestart of [true, false]) {
      const c = Counter.remote();
      assert.equal(await ray.get(c.increment.remote()), 1);
      await ray.kill(c, { noRestart }); // no restarts (maxRestarts 0): dies either way
      const later = c.increment.remote();
      const [ready] = await ray.wait([later], { timeout: 0 });
      assert.equal(ready.length, 1, `noRestart ${noRestart}: the call is failed locally, at once`);
      await assert.rejects(ray.get(later), expectKilled);
    }
  });

  test("the killed actor's process is gone; other actors keep working", async () => {
    const [victim, bystander] = [Counter.remote(), Counter.remote()];
    const [vpid, bpid] = await ray.get([victim.pid.remote(), bystander.pid.remote()]);
    assert.ok(isAlive(vpid));
    await ray.kill(victim);
    await pollUntil(() => !isAlive(vpid), 10_000, `pid ${vpid} to exit`);
    await pollUntil(
      async () => !(await ray.listWorkers()).some((w) => w.pid === vpid && w.state !== "dead"),
      10_000,
      `the node manager to see worker ${vpid} gone`,
    );
    assert.equal(await ray.get(bystander.increment.remote()), 1);
    assert.ok(isAlive(bpid));
    await assert.rejects(ray.get(victim.increment.remote()), expectKilled);
  });

  test("listActors shows ALIVE, then DEAD with the cause", async () => {
    const c = Counter.options({ name: "to-be-killed" }).remote();
    await ray.get(c.increment.remote());
    const alive = (await ray.listActors()).find((a) => a.name === "to-be-killed");
    assert.ok(alive, "the actor is not listed");
    assert.equal(alive.state, "ALIVE");
    assert.equal(alive.className, "Counter");
    assert.ok(alive.pid > 0);
    await ray.kill(c);
    const dead = (await ray.listActors()).find((a) => a.actorId === alive.actorId);
    assert.equal(dead?.state, "DEAD");
    assert.match(dead?.deathCause ?? "", /killed/);
    // A killed actor's name is free again.
    const reborn = Counter.options({ name: "to-be-killed" }).remote(9);
    assert.equal(await ray.get(reborn.increment.remote()), 10);
  });

  test("kill twice is harmless", async () => {
    const c = Counter.remote();
    await ray.get(c.increment.remote());
    await ray.kill(c);
    await ray.kill(c);
    await assert.rejects(ray.get(c.get.remote()), expectKilled);
  });

  test("kill of something that is not a handle throws TypeError", async () => {
    for (const bad of [undefined, null, 1, "actor", {}, Counter, await ray.put(1)]) {
      await assert.rejects(
        ray.kill(bad as unknown as ray.ActorHandle),
        TypeError,
        `kill(${String(bad)}) accepted`,
      );
    }
    const c = Counter.remote();
    await assert.rejects(ray.kill(c, { noRestart: "yes" as unknown as boolean }), TypeError);
    await assert.rejects(ray.kill(c, { force: true } as unknown as { noRestart?: boolean }), TypeError);
    assert.equal(await ray.get(c.increment.remote()), 1);
  });
});
