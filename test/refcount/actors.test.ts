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
import { collectUntil, fileContent, releaseHandle } from "./helpers.js";

useCluster({ numCpus: 2, logToDriver: false });

/** Bound for "the last handle is gone -> the actor's process has exited". */
const EXIT_MS = 5_000;
/** Bound for every process's collection and the reference count to settle. */
const SETTLE_MS = 10_000;
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

/** Per pid, the sorted reasons `memory()` gives for holding `actor:<id>` (after every process collected garbage). */
type Holders = Record<number, string[]>;

async function holdersAfterGc(actorId: string): Promise<Holders> {
  const m = await ray.memory({ collectGarbage: true });
  const entry = m.objects.find((o) => o.id === `actor:${actorId}`);
  const out: Holders = {};
  for (const h of entry?.heldBy ?? []) out[h.pid] = [...h.reasons].sort();
  return out;
}

/**
 * Every process (driver and workers) collects garbage, repeatedly, until the actor's
 * reference count settles to exactly `holders` (so a wrong release, collection or
 * kill has had its chance and is visible: the entry would be gone). Then the actor
 * must be ALIVE (process and control store), a call through the remaining handle
 * (`call`, when the test can reach one) must succeed, and the process must still be
 * alive after it. Returns what `call` returned.
 */
async function expectStillAlive<T>(
  actor: { pid: number; actorId: string },
  holders: Holders,
  call?: () => Promise<T>,
): Promise<T | undefined> {
  const want = JSON.stringify(
    Object.fromEntries(Object.entries(holders).map(([p, r]) => [p, [...r].sort()])),
  );
  let last = "";
  try {
    await pollUntil(
      async () => (last = JSON.stringify(await holdersAfterGc(actor.actorId))) === want,
      SETTLE_MS,
      "",
      25,
    );
  } catch (err) {
    if (!/^timed out/.test((err as Error).message)) throw err;
    assert.fail(
      `after garbage collection everywhere, actor ${actor.actorId} is held by ${last}, expected ${want}`,
    );
  }
  assert.ok(isAlive(actor.pid), `actor process ${actor.pid} exited while a handle to it still exists`);
  const rec = (await ray.listActors()).find((a) => a.actorId === actor.actorId);
  assert.equal(rec?.state, "ALIVE", `actor state ${rec?.state} (${rec?.deathCause ?? ""})`);
  const result = call ? await call() : undefined;
  assert.ok(
    isAlive(actor.pid),
    `actor process ${actor.pid} exited after a call through the remaining handle`,
  );
  return result;
}

describe("actor lifetime", () => {
  test("the original handle dropped while a task still uses a copy: the task completes, then the actor exits", async () => {
    const dir = tempDir("rc-actor");
    const [started, gate] = [join(dir, "started"), join(dir, "gate")];
    const counter = Counter.remote();
    const actor = await identify(counter);
    const task = useHandleAfterGate.remote(counter, started, gate, 3, 30_000);
    const taskPid = Number(await fileContent(started, 10_000));
    releaseHandle(counter); // the driver holds no handle any more; the task's copy remains
    // The task's copy is the only handle: it is used (the task's own calls) once the gate opens.
    await expectStillAlive(actor, {
      [process.pid]: ["argument of 1 pending call", "borrowed by 1 process"],
      [taskPid]: ["1 local ref"],
    });
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
    const keeperPid = await ray.get(keeper.pid.remote());
    const counter = Counter.remote();
    const actor = await identify(counter);
    assert.equal(await ray.get(keeper.keep.remote({ counter })), true);
    releaseHandle(counter);
    const held = { [process.pid]: ["borrowed by 1 process"], [keeperPid]: ["1 local ref"] };
    const incKept = () => ray.get(keeper.incKept.remote());
    assert.equal(await expectStillAlive(actor, held, incKept), 1, "the kept copy drives the actor");
    assert.equal(await expectStillAlive(actor, held, incKept), 2, "and keeps it alive after calls");
    assert.equal(await ray.get(keeper.dropNow.remote()), true);
    await expectExitedOutOfScope(actor);
    releaseHandle(keeper);
    await expectAllDead([keeperPid], EXIT_MS);
  });

  test("a handle put into the object store keeps the actor alive while the object lives", async () => {
    const counter = Counter.remote();
    const actor = await identify(counter);
    const stored = await ray.put({ counter });
    releaseHandle(counter);
    const held = { [process.pid]: ["inside 1 other object"] };
    /** A call through a copy of the handle read from the stored object, then that copy released. */
    const callThroughStored = async () => {
      const copy = (await ray.get(stored)).counter;
      const value = await ray.get(copy.increment.remote());
      releaseHandle(copy);
      return value;
    };
    assert.equal(await expectStillAlive(actor, held, callThroughStored), 1);
    assert.equal(
      await expectStillAlive(actor, held, callThroughStored),
      2,
      "the stored copy still drives it",
    );
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
    // Detached handles are not counted: nobody holds it, and it lives on.
    let again: CounterHandle | undefined;
    const value = await expectStillAlive(actor, {}, async () => {
      again = (await ray.getActor(name)) as CounterHandle;
      return ray.get(again.increment.remote());
    });
    assert.equal(value, 2, "the detached actor kept its state");
    await ray.kill(again!);
    await expectAllDead([actor.pid], EXIT_MS);
    const rec = (await ray.listActors()).find((a) => a.actorId === actor.actorId);
    assert.equal(rec?.state, "DEAD");
    assert.doesNotMatch(rec?.deathCause ?? "", OUT_OF_SCOPE);
  });
});
