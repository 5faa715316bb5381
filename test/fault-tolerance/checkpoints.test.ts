// Issue 6, point 4 (SPEC 18, beyond Ray): an actor class with saveCheckpoint() and
// restoreCheckpoint(state) and `checkpointEvery: { calls?, ms? }` is checkpointed;
// after a restart the latest checkpoint is restored and the calls made since are
// replayed in their original order, so a caller gets exactly the values an unkilled
// actor would have returned. Calls a committed checkpoint covers never run again.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { AsyncLedger, BadRestore, countLines, Journal, Ledger, pushMany } from "../fixtures/ft.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

useCluster({ numCpus: 2, logToDriver: false });

type Info = Awaited<ReturnType<typeof ray.listActors>>[number];

async function infoOf(pid: number): Promise<Info> {
  const i = (await ray.listActors()).find((a) => a.pid === pid);
  assert.ok(i, `no actor with pid ${pid}`);
  return i;
}

/** SIGKILL the actor's current process once it is ALIVE; returns the pid killed. */
async function killCurrent(actorId: string, notPid = 0): Promise<number> {
  const info = await pollUntil(
    async () =>
      (await ray.listActors()).find((a) => a.actorId === actorId && a.state === "ALIVE" && a.pid !== notPid),
    15_000,
    `actor ${actorId} to be ALIVE`,
  );
  process.kill(info.pid, "SIGKILL");
  return info.pid;
}

describe("checkpointEvery: validation", () => {
  test("needs saveCheckpoint and restoreCheckpoint, and calls and/or ms", () => {
    const Plain = ray.remote(
      class Plain {
        saveCheckpoint(): number {
          return 1;
        }
      },
    );
    assert.throws(
      () => Plain.options({ checkpointEvery: { calls: 1 } }),
      /checkpointEvery needs the class to define saveCheckpoint\(\) and restoreCheckpoint\(state\); it lacks restoreCheckpoint/,
    );
    assert.throws(() => Ledger.options({ checkpointEvery: {} }), /needs calls and\/or ms/);
    assert.throws(() => Ledger.options({ checkpointEvery: { calls: 0 } }), TypeError);
    assert.throws(() => Ledger.options({ checkpointEvery: { ms: -5 } }), TypeError);
    assert.throws(() => Ledger.options({ checkpointEvery: { every: 3 } as never }), /unknown/);
    assert.throws(() => Ledger.options({ checkpointEvery: 10 as never }), TypeError);
  });
});

describe("restore and replay", () => {
  test("a restarted actor resumes from its checkpoint; covered calls do not run again", async () => {
    const file = tempPath("ckpt-restore", "log");
    const a = Ledger.options({ maxRestarts: 1, checkpointEvery: { calls: 1 } }).remote(0, file);
    for (let i = 1; i <= 5; i++) assert.equal(await ray.get(a.add.remote(1)), i);
    const pid = await ray.get(a.pid.remote());
    const { actorId } = await infoOf(pid);
    await pollUntil(
      async () => (await infoOf(pid)).checkpointCovers === 6,
      10_000,
      "a checkpoint covering all 6 calls",
    );
    process.kill(pid, "SIGKILL");
    assert.equal(await ray.get(a.get.remote()), 5, "the state came back from the checkpoint");
    assert.equal(await ray.get(a.add.remote(1)), 6);
    const lines = (await import("node:fs")).readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines.filter((l) => l.startsWith("ctor")).length, 2, "the constructor ran again");
    assert.deepEqual(
      lines.filter((l) => l.startsWith("add")),
      ["add 1", "add 2", "add 3", "add 4", "add 5", "add 6"],
      "no covered call ran twice",
    );
    const info = (await ray.listActors()).find((x) => x.actorId === actorId)!;
    assert.equal(info.restarts, 1);
    assert.equal(info.checkpointed, true);
  });

  test("a counter killed at random returns exactly what an unkilled one would", async () => {
    const a = Ledger.options({ maxRestarts: -1, checkpointEvery: { calls: 7 } }).remote(0);
    const { actorId } = await infoOf(await ray.get(a.pid.remote()));
    const refs: ray.ObjectRef<number>[] = [];
    let last = 0;
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 40; i++) refs.push(a.add.remote(1));
      last = await killCurrent(actorId, last);
    }
    const got = await ray.get(refs, { timeout: 60_000 });
    assert.deepEqual(
      got,
      Array.from({ length: 240 }, (_, i) => i + 1),
    );
    assert.equal(await ray.get(a.get.remote()), 240);
    const info = (await ray.listActors()).find((x) => x.actorId === actorId)!;
    assert.equal(info.restarts, 6);
  });

  test("non-commutative state (a hash chain) replays in the original order", async () => {
    const j = Journal.options({ maxRestarts: -1, checkpointEvery: { calls: 5 } }).remote();
    const ref = Journal.remote();
    const { actorId } = await infoOf(await ray.get(j.pid.remote()));
    const names = Array.from({ length: 150 }, (_, i) => `e${i}`);
    const got: ray.ObjectRef<string>[] = [];
    let last = 0;
    for (let i = 0; i < names.length; i++) {
      got.push(j.push.remote(names[i]!));
      if (i === 89) {
        // Once, let a checkpoint cover everything so far first: later instances restore it.
        await ray.get(got[i]!);
        await pollUntil(
          async () =>
            ((await ray.listActors()).find((a) => a.actorId === actorId)?.checkpointCovers ?? 0) >= 90,
          10_000,
          "a checkpoint covering 90 calls",
        );
      }
      if (i % 30 === 29) last = await killCurrent(actorId, last);
    }
    const want = await ray.get(names.map((n) => ref.push.remote(n)));
    assert.deepEqual(await ray.get(got, { timeout: 60_000 }), want);
    const final = await ray.get(j.all.remote());
    assert.deepEqual(final.entries, names);
    assert.ok(final.restored >= 1, "it was restored from a checkpoint at least once");
  });

  test("killed before its first checkpoint: the whole history is replayed from the constructor", async () => {
    const a = Ledger.options({ maxRestarts: 2, checkpointEvery: { calls: 1_000_000 } }).remote(10);
    const pid = await ray.get(a.pid.remote());
    const refs = Array.from({ length: 50 }, () => a.add.remote(2));
    assert.equal(await ray.get(refs[49]!), 110);
    process.kill(pid, "SIGKILL");
    assert.equal(await ray.get(a.get.remote()), 110, "50 calls replayed on a fresh instance");
    assert.deepEqual(
      await ray.get(refs),
      Array.from({ length: 50 }, (_, i) => 12 + 2 * i),
    );
    assert.equal((await infoOf(await ray.get(a.pid.remote()))).checkpoints, 0);
  });

  test("checkpointEvery.ms checkpoints on a timer", async () => {
    const a = Ledger.options({ maxRestarts: 1, checkpointEvery: { ms: 50 } }).remote(0);
    for (let i = 0; i < 3; i++) await ray.get(a.add.remote(1));
    const pid = await ray.get(a.pid.remote());
    await pollUntil(async () => ((await infoOf(pid)).checkpoints ?? 0) >= 1, 5_000, "a timed checkpoint");
    process.kill(pid, "SIGKILL");
    assert.equal(await ray.get(a.add.remote(1)), 4);
  });

  test("async methods and an async saveCheckpoint", async () => {
    const a = AsyncLedger.options({ maxRestarts: -1, checkpointEvery: { calls: 3 } }).remote();
    const pid = await ray.get(a.pid.remote());
    const { actorId } = await infoOf(pid);
    let expected = 0;
    let last = 0;
    for (let i = 1; i <= 30; i++) {
      expected += i;
      assert.equal(await ray.get(a.add.remote(i)), expected);
      if (i % 10 === 0) last = await killCurrent(actorId, last);
    }
    assert.ok(((await ray.listActors()).find((x) => x.actorId === actorId)?.checkpoints ?? 0) >= 1);
  });

  test("refs passed as arguments are still readable when calls replay", async () => {
    const a = Ledger.options({ maxRestarts: -1, checkpointEvery: { calls: 1_000 } }).remote(0);
    const { actorId } = await infoOf(await ray.get(a.pid.remote()));
    const ones = await ray.put(1);
    const refs = Array.from({ length: 20 }, () => a.add.remote(ones as unknown as number));
    assert.equal(await ray.get(refs[19]!), 20);
    await killCurrent(actorId);
    assert.equal(await ray.get(a.get.remote()), 20);
  });

  test("once its restarts are spent, unanswered calls fail with ActorDiedError and later calls fail fast", async () => {
    const a = Ledger.options({ maxRestarts: 1, checkpointEvery: { calls: 2 } }).remote(0);
    const { actorId } = await infoOf(await ray.get(a.pid.remote()));
    assert.equal(await ray.get(a.add.remote(1)), 1);
    const started = tempPath("ckpt-dead", "hangs");
    const stuck = a.hang.remote(started);
    await pollUntil(() => countLines(started) === 1, 10_000, "hang() to start");
    let last = await killCurrent(actorId);
    // Replayed after the restart, hang() runs again; the second death is final.
    await pollUntil(() => countLines(started) === 2, 15_000, "the replayed hang() to start");
    last = await killCurrent(actorId, last);
    await assert.rejects(ray.get(stuck), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError, String(err));
      assert.match(err.message, /after 1 restart; maxRestarts=1/);
      return true;
    });
    await assert.rejects(ray.get(a.get.remote()), ray.ActorDiedError);
  });
});

describe("restoreCheckpoint failures", () => {
  test("a restoreCheckpoint() that throws ends the actor, naming it", async () => {
    const a = BadRestore.options({ maxRestarts: 3, checkpointEvery: { calls: 1 } }).remote();
    assert.equal(await ray.get(a.add.remote()), 1);
    const pid = await ray.get(a.pid.remote());
    const { actorId } = await infoOf(pid);
    await pollUntil(async () => ((await infoOf(pid)).checkpointCovers ?? 0) >= 1, 10_000, "a checkpoint");
    process.kill(pid, "SIGKILL");
    await assert.rejects(ray.get(a.add.remote()), (err: Error) => {
      assert.ok(err instanceof ray.ActorDiedError, String(err));
      assert.match(
        err.message,
        /its constructor or restoreCheckpoint\(\) failed: BadRestore\.restoreCheckpoint failed .*cannot be restored/,
      );
      return true;
    });
    const info = (await ray.listActors()).find((x) => x.actorId === actorId);
    assert.equal(info?.state, "DEAD");
    assert.equal(info?.restarts, 1);
  });
});

describe("several callers", () => {
  test("calls from tasks and the driver each take effect exactly once, in each caller's order", async () => {
    const j = Journal.options({ maxRestarts: -1, checkpointEvery: { calls: 4 } }).remote();
    const { actorId } = await infoOf(await ray.get(j.pid.remote()));
    const callers = ["t0", "t1", "t2"].map((tag) => pushMany.remote(j, tag, 30));
    const mine = Array.from({ length: 30 }, (_, i) => j.push.remote(`d-${i}`));
    let last = 0;
    for (let k = 0; k < 3; k++) last = await killCurrent(actorId, last);
    await ray.get([...callers], { timeout: 60_000 });
    await ray.get(mine, { timeout: 60_000 });
    const { entries } = await ray.get(j.all.remote());
    assert.equal(entries.length, 120, "every call took effect exactly once");
    for (const tag of ["t0", "t1", "t2", "d"]) {
      const own = entries.filter((e) => e.startsWith(`${tag}-`));
      assert.deepEqual(
        own,
        Array.from({ length: 30 }, (_, i) => `${tag}-${i}`),
        `${tag}'s calls in its order`,
      );
    }
  });
});
