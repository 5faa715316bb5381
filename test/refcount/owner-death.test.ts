// Owner death (issue 4 point 5, SPEC 11): when the process that owns an object dies,
// a borrower's `get` fails with OwnerDiedError (never a hang), and the actors it
// owns (non-detached) end with an ActorDiedError that names the owner's death.
// Owners here: a worker (a task put the object / created the actor) and a second
// driver process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as ray from "tsray";
import {
  type CounterHandle,
  Mailbox,
  makeCounterInTask,
  ownPendingInWorker,
  putInWorker,
} from "../fixtures/refcount.js";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, killPids, pollUntil, within } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import { fileAppears, releaseHandle } from "./helpers.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

/** get/call outcomes must arrive within this bound: an owner's death is never a hang. */
const FAIL_MS = 15_000;
const OWNER_DIED = /owner/i;

/** The rejection of `p` (fails the test if it resolves or takes longer than FAIL_MS). */
async function rejection(p: Promise<unknown>, what: string): Promise<Error> {
  try {
    const v = await within(p, FAIL_MS, what);
    assert.fail(`${what} resolved with ${JSON.stringify(v)}; expected it to fail`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    if (err instanceof Error && /did not finish within/.test(err.message)) throw err;
    return err as Error;
  }
}

/** Waits until listActors() says the actor on `pid` is DEAD; returns its death cause. */
async function deathCauseOfActorOn(pid: number): Promise<string> {
  const rec = await pollUntil(
    async () => (await ray.listActors()).find((a) => a.pid === pid && a.state === "DEAD"),
    FAIL_MS,
    `the actor on pid ${pid} to be DEAD`,
  );
  return rec.deathCause ?? "";
}

describe("owner death", () => {
  test("a worker that owns an object dies: get of a borrowed ref fails with OwnerDiedError", async () => {
    const result = putInWorker.remote("owned by a worker");
    const { ref, pid } = await ray.get(result, { timeout: 20_000 });
    assert.notEqual(pid, process.pid);
    process.kill(pid, "SIGKILL");
    await expectAllDead([pid], 5_000);
    const err = await rejection(ray.get(ref), "get of an object whose owner died");
    assert.ok(
      err instanceof ray.OwnerDiedError,
      `expected OwnerDiedError, got ${err.constructor.name}: ${err}`,
    );
    assert.ok(err instanceof ray.ObjectLostError);
    assert.equal((err as ray.OwnerDiedError).code, "OWNER_DIED");
    assert.match(err.message, new RegExp(ref.id.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
    // With a timeout too: the owner's death wins, not the timeout.
    const again = await rejection(ray.get(ref, { timeout: 10_000 }), "second get");
    assert.ok(again instanceof ray.OwnerDiedError, `got ${again.constructor.name}`);
    ref.release();
    result.release();
  });

  test("a get already waiting on an object when its owner (a worker) dies rejects with OwnerDiedError", async () => {
    const dir = tempDir("owner-wait");
    const started = `${dir}/started`;
    const gate = `${dir}/gate`;
    const result = ownPendingInWorker.remote(started, gate, 60_000);
    const { pending, ready, pid } = await ray.get(result, { timeout: 20_000 });
    try {
      assert.notEqual(pid, process.pid);
      // The task that makes `pending` is running and waits for the gate: the object cannot be ready.
      await fileAppears(started, 20_000);
      let settled = false;
      const waiting = ray.get(pending).finally(() => {
        settled = true;
      });
      waiting.catch(() => undefined); // judged below
      // A get of another object of the same owner, asked after it, is answered: the owner
      // has received the first request, which it holds until `pending` is ready.
      assert.equal(await ray.get(ready, { timeout: 10_000 }), "ready");
      assert.equal(settled, false, "the get of the pending object is waiting");
      process.kill(pid, "SIGKILL");
      const err = await rejection(waiting, "a get waiting on an object whose owner died");
      assert.ok(
        err instanceof ray.OwnerDiedError,
        `expected OwnerDiedError, got ${err.constructor.name}: ${err}`,
      );
      assert.equal((err as ray.OwnerDiedError).code, "OWNER_DIED");
      assert.ok(err.message.includes(pending.id), err.message);
      // The waiting request failed (not a fresh one to a dead address).
      assert.match(err.message, /died before sending it/);
      await expectAllDead([pid], 5_000);
    } finally {
      writeFileSync(gate, "open"); // let the gated task end
      pending.release();
      ready.release();
      result.release();
    }
  });

  test("a worker that owns an actor dies: the actor ends and calls fail with ActorDiedError naming the owner", async () => {
    const { counter, ownerPid, actorPid } = await ray.get(makeCounterInTask.remote(), { timeout: 20_000 });
    assert.equal(await ray.get(counter.increment.remote()), 1, "the driver's copy drives the actor");
    assert.notEqual(ownerPid, actorPid);
    process.kill(ownerPid, "SIGKILL");
    await expectAllDead([ownerPid], 5_000);
    await expectAllDead([actorPid], FAIL_MS);
    assert.match(await deathCauseOfActorOn(actorPid), OWNER_DIED);
    const err = await rejection(ray.get(counter.increment.remote()), "a call to an actor whose owner died");
    assert.ok(
      err instanceof ray.ActorDiedError,
      `expected ActorDiedError, got ${err.constructor.name}: ${err}`,
    );
    assert.match(err.message, OWNER_DIED);
    releaseHandle(counter);
  });

  test("a driver that owns an object and an actor dies: OwnerDiedError and ActorDiedError elsewhere", async () => {
    const namespace = `rc-owner-${process.pid}`;
    const mailboxName = "mailbox";
    const mailbox = Mailbox.options({ name: mailboxName, namespace }).remote();
    const script = fileURLToPath(new URL("../fixtures/refcount-owner-driver.ts", import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", script, cluster.info.address, mailboxName, namespace],
      { env, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      const line = await within(
        new Promise<string>((resolve, reject) => {
          createInterface({ input: child.stdout! }).once("line", resolve);
          child.once("exit", (code) => reject(new Error(`the owner driver exited early (code ${code})`)));
        }),
        30_000,
        "the owner driver to hand over its object and actor",
      );
      const report = JSON.parse(line) as { pid: number; actorPid: number; objectId: string };
      const { ref, counter } = (await ray.get(mailbox.take.remote())) as {
        ref: ray.ObjectRef<string>;
        counter: CounterHandle;
      };
      assert.equal(ref.id, report.objectId);
      assert.equal(await ray.get(counter.increment.remote()), 1, "a borrowed handle drives the actor");

      child.kill("SIGKILL");
      await expectAllDead([report.pid], 5_000);
      const err = await rejection(ray.get(ref), "get of an object whose owner (a driver) died");
      assert.ok(
        err instanceof ray.OwnerDiedError,
        `expected OwnerDiedError, got ${err.constructor.name}: ${err}`,
      );
      await expectAllDead([report.actorPid], FAIL_MS);
      assert.match(await deathCauseOfActorOn(report.actorPid), OWNER_DIED);
      const callErr = await rejection(
        ray.get(counter.increment.remote()),
        "a call to an actor whose owner died",
      );
      assert.ok(callErr instanceof ray.ActorDiedError, `got ${callErr.constructor.name}: ${callErr}`);
      assert.match(callErr.message, OWNER_DIED);
      ref.release();
      releaseHandle(counter);
    } finally {
      if (child.pid !== undefined) killPids([child.pid]);
      releaseHandle(mailbox);
    }
  });
});
