// Issue 16, point 5: after the head is SIGKILLed, ray.get rejects on every path; an
// error never comes back as a resolved value. The cases run in order on one cluster
// whose head dies in the first test.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import * as ray from "tsray";
import { Blocker, blockingTask, one } from "../fixtures/error-paths.js";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, killPids, pollUntil, within } from "../helpers/processes.js";
import { tempPath } from "../helpers/temp.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

/** Every pid this file learns of (workers the dead head can no longer list): checked dead in teardown. */
const pids = new Set<number>();
const BLOCK_MS = 30_000;
const MiB = 1024 * 1024;

after(async () => {
  try {
    await expectAllDead([...pids], 10_000);
  } finally {
    killPids(pids);
    // A SIGKILLed head cannot unlink its store segment (the next init would): do it here.
    const prefix = `tsray-${cluster.info.headPid}-store-`;
    for (const name of readdirSync("/dev/shm").filter((n) => n.startsWith(prefix)))
      rmSync(`/dev/shm/${name}`, { force: true });
  }
});

/** get(ref) must reject, within `ms`, with an instance of `Class`; returns the error. */
async function rejectsWith<E extends Error>(
  ref: ray.ObjectRef<unknown>,
  Class: new (...a: never[]) => E,
  what: string,
): Promise<E> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await ray.get(ref, { timeout: 10_000 }) };
  } catch (error) {
    outcome = { error };
  }
  assert.ok(
    "error" in outcome,
    `${what}: get resolved with ${String((outcome as { value: unknown }).value)}`,
  );
  const err = outcome.error as Error;
  assert.ok(err instanceof Class, `${what}: expected ${Class.name}, got ${err?.constructor?.name}: ${err}`);
  return err as E;
}

/** Wait until `file` exists (a remote call wrote it); returns its content. */
async function fileWritten(file: string, what: string): Promise<string> {
  await pollUntil(() => existsSync(file), 20_000, what);
  return readFileSync(file, "utf8");
}

describe("after the head is SIGKILLed", () => {
  let idle: ReturnType<typeof Blocker.remote>;
  let idlePid = 0;
  let busy: ReturnType<typeof Blocker.remote>;
  let busyPid = 0;
  let busyCall: ray.ObjectRef<number>;
  let blockedTask: ray.ObjectRef<number>;
  /** A value large enough for the head's object store, put before the kill and not read since. */
  let stored: ray.ObjectRef<Float64Array>;
  const releaseTask = tempPath("head-death", "release-task");

  test("setup: a busy actor, an idle actor and a task blocking its worker; then the head is killed", async () => {
    idle = Blocker.remote(1);
    busy = Blocker.remote(2);
    [idlePid, busyPid] = await ray.get([idle.pid.remote(), busy.pid.remote()]);
    pids.add(idlePid).add(busyPid);
    const busyStarted = tempPath("head-death", "busy-started");
    busyCall = busy.block.remote(busyStarted, tempPath("head-death", "never"), BLOCK_MS);
    await fileWritten(busyStarted, "the busy actor's call to start");
    const taskStarted = tempPath("head-death", "task-started");
    blockedTask = blockingTask.remote(taskStarted, releaseTask, BLOCK_MS);
    pids.add(Number(await fileWritten(taskStarted, "the blocking task to start")));
    for (const w of await ray.listWorkers()) pids.add(w.pid);
    stored = await ray.put(new Float64Array(MiB / 8).fill(1));

    process.kill(cluster.info.headPid!, "SIGKILL");
    // The driver has seen its connection to the head close once a request to it fails.
    await assert.rejects(within(ray.nodes(), 10_000, "nodes() after the head died"));
  });

  test("an actor created after the kill: get of a call rejects with RuntimeUnavailableError, twice", async () => {
    const late = Blocker.remote(3);
    const first = await rejectsWith(late.value.remote(), ray.RuntimeUnavailableError, "first call");
    assert.match(first.message, /node manager is not reachable/);
    await rejectsWith(late.value.remote(), ray.RuntimeUnavailableError, "second call");
    // wait() reports the failed object as ready (it does not throw); get still rejects.
    const ref = late.value.remote();
    const [ready] = await ray.wait([ref], { timeout: 10_000 });
    assert.equal(ready.length, 1, "the failed call counts as ready");
    await rejectsWith(ref, ray.RuntimeUnavailableError, "get after wait");
  });

  test("a task submitted after the kill rejects with RuntimeUnavailableError", async () => {
    await rejectsWith(one.remote(), ray.RuntimeUnavailableError, "task after the kill");
  });

  test("put and get after the kill: a store-sized put rejects, a stored value's get rejects, a small put works", async () => {
    await assert.rejects(async () => ray.put(new Float64Array(MiB / 8)), ray.RuntimeUnavailableError);
    await rejectsWith(stored, ray.RuntimeUnavailableError, "get of a value in the dead head's store");
    // Small values live in the driver (their owner), which is alive: nothing to fail.
    assert.deepEqual(await ray.get(await ray.put({ small: [1, 2] })), { small: [1, 2] });
  });

  test("getActor after the kill rejects with RuntimeUnavailableError", async () => {
    await assert.rejects(ray.getActor("anything"), ray.RuntimeUnavailableError);
  });

  test("an actor whose constructor argument settles after the kill: its calls reject, the argument resolves", async () => {
    // Registration runs when the argument settles (inside the settle of the task's result).
    const late = Blocker.remote(blockedTask as unknown as number);
    const call = late.value.remote();
    writeFileSync(releaseTask, "go");
    const pid = await ray.get(blockedTask, { timeout: 10_000 });
    assert.ok(pids.has(pid), "the blocking task's reply arrived");
    await rejectsWith(call, ray.RuntimeUnavailableError, "call on the actor");
    await rejectsWith(late.value.remote(), ray.RuntimeUnavailableError, "later call on the actor");
  });

  test("a call in flight when the actor's process dies (head already gone) rejects with ActorDiedError", async () => {
    process.kill(busyPid, "SIGKILL");
    const err = await rejectsWith(busyCall, ray.ActorDiedError, "the in-flight call");
    assert.match(err.message, /unreachable/);
  });

  test("an actor created before the kill, called after its process died: ActorDiedError", async () => {
    await expectAllDead([idlePid], 10_000);
    await rejectsWith(idle.value.remote(), ray.ActorDiedError, "call on the dead actor");
  });
});
