// Issue 6, points 3 and 6 (SPEC 16): maxRestarts restarts a dead actor's process
// and reruns its constructor with the original arguments; maxTaskRetries re-sends
// in-flight calls in their original order, otherwise they fail with ActorDiedError
// naming the cause; after the last restart every call fails fast;
// kill(h, { noRestart: false }) restarts; listActors shows PENDING, ALIVE,
// RESTARTING and DEAD with the restart count and the causes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import {
  countLines,
  FailsOnRestart,
  Journal,
  Ledger,
  makeLedgerInWorker,
  SlowStart,
} from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { isAlive, pollUntil, within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, logToDriver: false });

type Info = Awaited<ReturnType<typeof ray.listActors>>[number];

/** The listActors() entry of the actor whose process is (or was) `pid`. */
async function infoByPid(pid: number): Promise<Info | undefined> {
  return (await ray.listActors()).find((a) => a.pid === pid);
}

/** Wait until the actor that had process `pid` is ALIVE in another process; returns its entry. */
async function restartedFrom(pid: number, id?: string): Promise<Info> {
  const actorId = id ?? (await infoByPid(pid))?.actorId;
  assert.ok(actorId, `no actor with pid ${pid}`);
  return pollUntil(
    async () =>
      (await ray.listActors()).find((a) => a.actorId === actorId && a.state === "ALIVE" && a.pid !== pid),
    15_000,
    `actor ${actorId} to be ALIVE again after pid ${pid} died`,
  );
}

function died(pattern: RegExp) {
  return (err: Error) => {
    assert.ok(err instanceof ray.ActorDiedError, `got ${err.constructor.name}: ${err.message}`);
    assert.ok(err instanceof ray.RayActorError);
    assert.match(err.message, pattern);
    return true;
  };
}

describe("actor restarts", () => {
  test("maxRestarts: 2 reruns the constructor with its original arguments; the third death is final", async () => {
    const file = tempPath("restarts", "log");
    const a = Ledger.options({ maxRestarts: 2 }).remote(100, file);
    const pids: number[] = [];
    for (let k = 0; k < 3; k++) {
      assert.equal(
        await ray.get(a.add.remote(1)),
        101,
        `incarnation ${k + 1} starts from the constructor's 100`,
      );
      const pid = await ray.get(a.pid.remote());
      pids.push(pid);
      const id = (await infoByPid(pid))!.actorId;
      process.kill(pid, "SIGKILL");
      if (k < 2) {
        const info = await restartedFrom(pid, id);
        assert.equal(info.restarts, k + 1);
        assert.match(info.restartCause ?? "", new RegExp(`pid ${pid}\\) exited with signal SIGKILL`));
      }
    }
    assert.equal(countLines(file), 6, "3 constructor runs and 3 adds");
    // The last death: DEAD, and every call fails fast with the cause.
    const last = pids[2]!;
    await assert.rejects(
      ray.get(a.get.remote()),
      died(/exited with signal SIGKILL \(after 2 restarts; maxRestarts=2\)/),
    );
    const t0 = performance.now();
    await assert.rejects(within(ray.get(a.add.remote(1)), 1_000, "a call to a dead actor"), died(/is dead/));
    assert.ok(performance.now() - t0 < 200, "a call to a dead actor fails at once");
    const info = await infoByPid(last);
    assert.equal(info?.state, "DEAD");
    assert.equal(info?.restarts, 2);
    for (const p of pids) assert.equal(isAlive(p), false);
  });

  test("maxTaskRetries 0: the in-flight calls fail with ActorDiedError naming the cause; later calls run", async () => {
    const hold = tempPath("mtr0", "held");
    const j = Journal.options({ maxRestarts: 1 }).remote();
    const pid = await ray.get(j.pid.remote());
    const held = j.holdOnce.remote(hold);
    const queued = [j.push.remote("a"), j.push.remote("b")];
    await pollUntil(() => countLines(hold) === 1, 10_000, "the first call to be running");
    process.kill(pid, "SIGKILL");
    for (const r of [held, ...queued]) {
      await assert.rejects(
        ray.get(r as ray.ObjectRef<unknown>),
        died(
          new RegExp(
            `died while running this call \\(its worker process \\(pid ${pid}\\) exited with signal SIGKILL\\) ` +
              "and was restarted \\(restart 1\\); the call was not retried because maxTaskRetries is 0",
          ),
        ),
      );
    }
    assert.equal(await ray.get(j.push.remote("c")), await ray.get(Journal.remote().push.remote("c")));
  });

  test("maxTaskRetries -1: in-flight calls are re-sent after the restart, in their original order", async () => {
    const hold = tempPath("mtr-inf", "held");
    const j = Journal.options({ maxRestarts: 3, maxTaskRetries: -1 }).remote();
    const ref = Journal.remote();
    const pid = await ray.get(j.pid.remote());
    const held = j.holdOnce.remote(hold);
    const names = Array.from({ length: 20 }, (_, i) => `call-${i}`);
    const calls = names.map((n) => j.push.remote(n));
    await pollUntil(() => countLines(hold) === 1, 10_000, "the first call to be running");
    process.kill(pid, "SIGKILL");
    assert.equal(await ray.get(held), "passed", "re-sent: the restarted actor ran it again");
    const expected = await ray.get(names.map((n) => ref.push.remote(n)));
    assert.deepEqual(await ray.get(calls), expected, "re-sent calls ran in their original order");
    assert.deepEqual((await ray.get(j.all.remote())).entries, names);
  });

  test("maxTaskRetries 1: a call re-sent once fails when the actor dies under it again", async () => {
    const started = tempPath("mtr-1", "hangs");
    const a = Ledger.options({ maxRestarts: 5, maxTaskRetries: 1 }).remote(0);
    const pid1 = await ray.get(a.pid.remote());
    const id = (await infoByPid(pid1))!.actorId;
    const stuck = a.hang.remote(started); // runs (and hangs) in every incarnation it reaches
    await pollUntil(() => countLines(started) === 1, 10_000, "hang() to start");
    process.kill(pid1, "SIGKILL");
    await pollUntil(
      () => countLines(started) === 2,
      15_000,
      "the re-sent hang() to start in the new process",
    );
    const second = await restartedFrom(pid1, id);
    process.kill(second.pid, "SIGKILL");
    await assert.rejects(ray.get(stuck), died(/already re-sent 1 time \(maxTaskRetries=1\)/));
    await restartedFrom(second.pid, id);
    assert.equal(await ray.get(a.add.remote(5)), 5);
    assert.equal(countLines(started), 2, "not sent a third time");
  });

  test("kill(h, { noRestart: false }) restarts a restartable actor; with none left it dies", async () => {
    const a = Ledger.options({ maxRestarts: 1 }).remote(7);
    const pid = await ray.get(a.pid.remote());
    const id = (await infoByPid(pid))!.actorId;
    await ray.kill(a, { noRestart: false });
    const info = await restartedFrom(pid, id);
    assert.equal(info.restarts, 1);
    assert.match(info.restartCause ?? "", /killed by ray\.kill\(\) with noRestart: false/);
    assert.equal(await ray.get(a.add.remote(1)), 8, "the constructor ran again with 7");
    await ray.kill(a, { noRestart: false }); // no restarts left: it dies
    await assert.rejects(
      ray.get(a.get.remote()),
      died(/killed by ray\.kill\(\) \(after 1 restart; maxRestarts=1\)/),
    );
    assert.equal((await infoByPid(info.pid))?.state, "DEAD");
  });

  test("kill(h) of a restartable actor ends it for good", async () => {
    const a = Ledger.options({ maxRestarts: -1 }).remote(0);
    const pid = await ray.get(a.pid.remote());
    await ray.kill(a);
    await assert.rejects(ray.get(a.get.remote()), died(/killed by ray\.kill\(\)/));
    const info = await infoByPid(pid);
    assert.equal(info?.state, "DEAD");
    assert.equal(info?.restarts, 0);
  });

  test("a constructor that fails on restart ends the actor: 'constructor failed'", async () => {
    const marker = tempPath("ctor-fails", "constructed");
    const a = FailsOnRestart.options({ maxRestarts: 3 }).remote(marker);
    const pid = await ray.get(a.pid.remote());
    process.kill(pid, "SIGKILL");
    await assert.rejects(
      within(ray.get(a.pid.remote()), 15_000, "the call after the failed restart"),
      died(/its constructor failed: .*constructor refuses to run twice/),
    );
    const info = (await ray.listActors()).find((x) => x.className === "FailsOnRestart");
    assert.equal(info?.state, "DEAD");
    assert.equal(info?.restarts, 1);
  });

  test("an actor whose owner dies is DEAD: 'owner died' (restarts do not apply)", async () => {
    const [handle, ownerPid] = await ray.get(makeLedgerInWorker.remote());
    const a = handle as ReturnType<typeof Ledger.remote>;
    assert.equal(await ray.get(a.add.remote(2)), 2);
    process.kill(ownerPid, "SIGKILL");
    await pollUntil(
      async () => {
        try {
          await ray.get(a.get.remote());
          return false;
        } catch (err) {
          return died(/owner \(the process that created it\) died/)(err as Error);
        }
      },
      10_000,
      "calls to fail with owner died",
    );
  });
});

describe("listActors: PENDING, ALIVE, RESTARTING, DEAD", () => {
  test("states, restart count and causes as they happen", async () => {
    const holder = Ledger.options({ numCpus: 2, name: "cpu-holder" }).remote(0);
    await ray.get(holder.pid.remote());
    const slow = SlowStart.options({ numCpus: 1, maxRestarts: 1, name: "slow" }).remote(1_500);
    const byName = async (n: string) => (await ray.listActors()).find((a) => a.name === n);
    assert.equal((await byName("slow"))?.state, "PENDING", "it waits for a CPU");
    await ray.kill(holder);
    assert.equal(await ray.get(slow.add.remote()), 1);
    const alive = await byName("slow");
    assert.equal(alive?.state, "ALIVE");
    assert.equal(alive?.restarts, 0);
    process.kill(alive!.pid, "SIGKILL");
    const restarting = await pollUntil(
      async () => {
        const i = await byName("slow");
        return i?.state === "RESTARTING" ? i : undefined;
      },
      5_000,
      "RESTARTING (the constructor takes 1.5 s)",
    );
    assert.equal(restarting.restarts, 1);
    assert.match(restarting.restartCause ?? "", /exited with signal SIGKILL/);
    assert.equal(await ray.get(slow.add.remote()), 1, "a fresh instance");
    const again = await byName("slow");
    assert.equal(again?.state, "ALIVE");
    await ray.kill(slow);
    const dead = (await ray.listActors()).find((a) => a.actorId === again!.actorId);
    assert.equal(dead?.state, "DEAD");
    assert.equal(dead?.restarts, 1);
    assert.match(dead?.deathCause ?? "", /killed by ray\.kill\(\)/);
  });
});
