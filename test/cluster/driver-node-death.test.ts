// A driver joined through a worker node (not the head) whose node dies (issue 10,
// point 6): the node is SIGKILLed as a machine that fails, and the driver's pending
// `get`s and every later call that needs the node fail promptly with a
// RuntimeUnavailableError that says its node is gone; nothing hangs. What does not
// need the node still works (small puts, the head's queries); the actors it owns die
// with it, as the cluster counts it dead with its node; shutdown() finishes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as ray from "tsray";
import { Cluster, type ClusterNode } from "tsray/testing";
import { stopNodes } from "../helpers/cluster.js";

/** Every wait on the dead node's consequences must end within this. */
const PROMPT_MS = 10_000;

// Runs until its node dies (bounded, in case it does not).
const hang = ray.remote(async () => {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  return 1;
});
const one = ray.remote(() => 1);
const Counter = ray.remote(
  class Counter {
    n = 0;
    incr(): number {
      return ++this.n;
    }
    pid(): number {
      return process.pid;
    }
  },
);

/**
 * The error `fn` fails with (thrown at once, as `remote()` does, or as its result's
 * rejection), failing the test if it succeeds or does not settle within `ms`.
 */
async function failure(fn: () => unknown, what: string, ms = PROMPT_MS): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), ms);
  });
  try {
    const r = await Promise.race([(async () => fn())().then(() => "resolved" as const), deadline]);
    assert.fail(
      r === "hung" ? `${what} did not settle within ${ms} ms` : `${what} succeeded; it should fail`,
    );
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err as Error;
  } finally {
    clearTimeout(timer);
  }
}

function assertNodeGone(err: Error, what: string): void {
  assert.ok(err instanceof ray.RuntimeUnavailableError, `${what}: ${err.name}: ${err.message}`);
  assert.equal((err as ray.RuntimeUnavailableError).code, "RUNTIME_UNAVAILABLE");
  assert.match(
    err.message,
    /node manager is not reachable \(.*127\.0\.0\.1:\d+.*\): this process's node died/,
    what,
  );
}

describe("a driver whose node dies", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let worker: ClusterNode;
  const pids = new Set<number>();

  before(async () => {
    cluster = await Cluster.start({ head: { numCpus: 1, resources: { head: 1 } } });
    worker = await cluster.addNode({ numCpus: 1 });
    await cluster.waitForNodes(2);
    for (const n of cluster.nodes) pids.add(n.pid);
  });

  after(() => stopNodes(cluster, pids));

  test("gets a clear error for its pending get and its next calls, promptly", async () => {
    await ray.init({ address: worker.address });
    assert.equal(await ray.get(one.remote()), 1);
    const onHead = Counter.options({ resources: { head: 1 } }).remote();
    assert.equal(await ray.get(onHead.incr.remote()), 1);
    pids.add(await ray.get(onHead.pid.remote()));
    // The node's one CPU: the first task takes it, the second (another shape, so not
    // pipelined behind the first; pinned to the node, or the busy node would spill it
    // to the idle head) waits there for a lease.
    const first = hang.remote();
    const second = hang.options({ numCpus: 0.5, schedulingStrategy: { nodeId: worker.nodeId } }).remote();
    for (const w of await ray.listWorkers()) pids.add(w.pid);
    const t0 = performance.now();
    // Watched from before the kill: they may fail while killNode still waits for the pid.
    const pending = [
      failure(() => ray.get(first), "the first task's get"),
      failure(() => ray.get(second), "the second task's get"),
    ];
    await cluster.killNode(worker); // SIGKILL: the machine fails
    assertNodeGone(await pending[0]!, "the first task's get");
    assertNodeGone(await pending[1]!, "the second task's get");
    // What needs the dead node fails the same way, at once.
    assertNodeGone(await failure(() => ray.get(one.remote()), "a new task"), "a new task");
    assertNodeGone(await failure(() => ray.get(first), "get() again"), "get() again");
    assertNodeGone(await failure(() => ray.put(new Float64Array(1 << 17)), "a store-sized put"), "put()");
    // What does not is served: small values live in the driver, the head is alive.
    assert.equal(await ray.get(await ray.put(7)), 7);
    assert.equal((await ray.nodes()).length, 2);
    // The cluster counts the driver as dead with its node: an actor it owns dies, saying so.
    const died = await failure(() => ray.get(onHead.incr.remote()), "a call on its actor");
    assert.ok(died instanceof ray.ActorDiedError, `${died.name}: ${died.message}`);
    assert.match(died.message, /its owner .* died with its node/);
    assert.ok(performance.now() - t0 < PROMPT_MS, `took ${Math.round(performance.now() - t0)} ms`);
    await ray.shutdown();
  });
});
