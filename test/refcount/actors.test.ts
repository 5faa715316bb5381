// Actor lifetime by reference counting (issue 4 point 4, SPEC 10): a non-detached
// actor lives while any handle to it exists anywhere — in the driver, in pending
// calls and tasks, inside stored objects, inside other actors — and exits once the
// last one is gone. Detached actors are exempt. The seed's limitation (the actor
// died with its *original* handle while a task still used a copy) is the first test.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Counter, type CounterHandle, HandleKeeper, useHandleAfterGate } from "../fixtures/refcount.js";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, isAlive, pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import { collectUntil, fileAppears, releaseHandle } from "./helpers.js";

useCluster({ numCpus: 2, logToDriver: false });

/** Bound for "the last handle is gone -> the actor's process has exited". */
const EXIT_MS = 5_000;
const OUT_OF_SCOPE = /every handle to it went out of scope/;

/** The actor's pid and id (from listActors, matched by pid). */
async function identify(h: CounterHandle): Promise<{ pid: number; actorId: string }> {
  const pid = await ray.get(h.pid.remote());
  const rec = (await ray.listActors()).find((a) => a.pid === pid && a.state === "ALIVE");
  assert.ok(rec, `no ALIVE actor with pid ${pid} in listActors()`);
  return { pid, actorId: rec.actorId };
}

/** Waits until the actor's process is gone and listActors says why. */
async function expectExitedOutOfScope(actor: { pid: number; actorId: string }): Promise<void> {
  await expectAllDead([actor.pid], EXIT_MS);
  const rec = await pollUntil(
    async () => (await ray.listActors()).find((a) => a.actorId === actor.actorId && a.state === "DEAD"),
    EXIT_MS,
    `actor ${actor.actorId} to be DEAD in listActors()`,
  );
  assert.match(rec.deathCause ?? "", OUT_OF_SCOPE);
}

/** Asserts the actor is still ALIVE (process and control store) after giving a wrong exit time to happen. */
async function expectStillAlive(actor: { pid: number; actorId: string }, graceMs = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  assert.ok(isAlive(actor.pid), `actor process ${actor.pid} exited while a handle to it still exists`);
  const rec = (await ray.listActors()).find((a) => a.actorId === actor.actorId);
  assert.equal(rec?.state, "ALIVE", `actor state ${rec?.state} (${rec?.deathCause ?? ""})`);
}

describe("actor lifetime", () => {
  test("the original handle dropped while a task still uses a copy: the task completes, then the actor exits", async () => {
    const dir = tempDir("rc-actor");
    const [started, gate] = [join(dir, "started"), join(dir, "gate")];
    const counter = Counter.remote();
    const actor = await identify(counter);
    const task = useHandleAfterGate.remote(counter, started, gate, 3, 30_000);
    await fileAppears(started, 10_000);
    releaseHandle(counter); // the driver holds no handle any more; the task's copy remains
    await expectStillAlive(actor);
    writeFileSync(gate, "");
    assert.equal(await ray.get(task, { timeout: 20_000 }), 3, "the task's copy drives the actor");
    await expectExitedOutOfScope(actor);
  });

  test("a pending call keeps its actor alive; the actor exits after the call", async () => {
    const counter = Counter.remote();
    const actor = await identify(counter);
    const call = counter.increment.remote(5);
    releaseHandle(counter);
    assert.equal(await ray.get(call, { timeout: 10_000 }), 5);
    await expectExitedOutOfScope(actor);
  });

  test("a handle held in another actor's state keeps the actor alive until that actor drops it", async () => {
    const keeper = HandleKeeper.remote();
    const counter = Counter.remote();
    const actor = await identify(counter);
    assert.equal(await ray.get(keeper.keep.remote({ counter })), true);
    releaseHandle(counter);
    await expectStillAlive(actor);
    assert.equal(await ray.get(keeper.incKept.remote()), 1, "the kept copy drives the actor");
    await expectStillAlive(actor, 100);
    assert.equal(await ray.get(keeper.dropNow.remote()), true);
    await expectExitedOutOfScope(actor);
    const keeperPid = await ray.get(keeper.pid.remote());
    releaseHandle(keeper);
    await expectAllDead([keeperPid], EXIT_MS);
  });

  test("a handle put into the object store keeps the actor alive while the object lives", async () => {
    const counter = Counter.remote();
    const actor = await identify(counter);
    const stored = await ray.put({ counter });
    releaseHandle(counter);
    await expectStillAlive(actor);
    const copy = (await ray.get(stored)).counter;
    assert.equal(await ray.get(copy.increment.remote()), 1);
    releaseHandle(copy);
    await expectStillAlive(actor, 100);
    stored.release();
    await expectExitedOutOfScope(actor);
  });

  test("`using` drops a handle at the end of its scope", async () => {
    let actor: { pid: number; actorId: string };
    {
      using counter = Counter.remote();
      actor = await identify(counter);
      assert.equal(await ray.get(counter.increment.remote()), 1);
    }
    await expectExitedOutOfScope(actor);
  });

  test("a handle dropped without release() ends its actor once garbage collected", async () => {
    const actor = await (async () => {
      const counter = Counter.remote();
      const found = await identify(counter);
      assert.equal(await ray.get(counter.increment.remote()), 1);
      return found;
    })();
    await collectUntil(() => !isAlive(actor.pid), 10_000, `actor ${actor.actorId} to exit after GC`);
    await expectExitedOutOfScope(actor);
  });

  test("a detached actor outlives all its handles until ray.kill", async () => {
    const name = `rc-detached-${process.pid}`;
    const detached = Counter.options({ lifetime: "detached", name }).remote();
    const actor = await identify(detached);
    assert.equal(await ray.get(detached.increment.remote()), 1);
    releaseHandle(detached);
    await collectUntil(async () => true, 1_000, "a collection");
    await expectStillAlive(actor, 500);
    const again = (await ray.getActor(name)) as CounterHandle;
    assert.equal(await ray.get(again.increment.remote()), 2, "the detached actor kept its state");
    await ray.kill(again);
    await expectAllDead([actor.pid], EXIT_MS);
    const rec = (await ray.listActors()).find((a) => a.actorId === actor.actorId);
    assert.equal(rec?.state, "DEAD");
    assert.doesNotMatch(rec?.deathCause ?? "", OUT_OF_SCOPE);
  });
});
