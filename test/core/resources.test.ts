// Resource scheduling on one node: capacity, GPU ids and CUDA_VISIBLE_DEVICES,
// fractional GPUs, infeasible demands, demands that wait, runtime context.
// The node declares 2 fake GPUs (no hardware needed: ids are bookkeeping).
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import * as ray from "tsray";
import { contextInTask, gpuView, holdUntilReleased, meetAt, square, timestamp } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const releases: string[] = [];
after(() => {
  for (const f of releases) writeFileSync(f, "go");
});
const cluster = useCluster({ numCpus: 2, numGpus: 2, resources: { custom: 2 }, logToDriver: false });

const TOTAL = { CPU: 2, GPU: 2, custom: 2 };

function pick(r: Record<string, number>): Record<string, number | undefined> {
  return { CPU: r.CPU, GPU: r.GPU, custom: r.custom };
}

async function expectAllAvailable(): Promise<void> {
  await pollUntil(
    async () => {
      const a = await ray.availableResources();
      return a.CPU === TOTAL.CPU && a.GPU === TOTAL.GPU && a.custom === TOTAL.custom;
    },
    10_000,
    "availableResources() to return to the totals",
  );
}

describe("capacity", () => {
  test("init reports the declared resources", () => {
    assert.deepEqual(pick(cluster.info.resources), TOTAL);
  });

  test("clusterResources() returns the totals", async () => {
    assert.deepEqual(pick(await ray.clusterResources()), TOTAL);
  });

  test("availableResources() returns to the totals after work finishes", async () => {
    await ray.get(Array.from({ length: 20 }, (_, i) => square.remote(i)));
    await ray.get(gpuView.options({ numGpus: 1, resources: { custom: 1 } }).remote());
    await expectAllAvailable();
  });

  test("availableResources() drops while a task holds resources", async () => {
    const dir = tempDir("hold");
    const started = join(dir, "started");
    const release = join(dir, "release");
    releases.push(release);
    const ref = holdUntilReleased
      .options({ resources: { custom: 2 }, numCpus: 1 })
      .remote(started, release, 30_000);
    try {
      await pollUntil(() => existsSync(started), 20_000, "the holding task to start");
      const avail = await ray.availableResources();
      assert.equal(avail.custom, undefined, "custom is fully held, so it is omitted (zero)");
      assert.ok((avail.CPU ?? 0) <= 1, `CPU available while one is held: ${avail.CPU}`);
    } finally {
      writeFileSync(release, "go");
    }
    await ray.get(ref);
    await expectAllAvailable();
  });
});

describe("GPUs", () => {
  /**
   * CUDA_VISIBLE_DEVICES was in the worker's environment when its process started (GPU
   * libraries read it once, at load), naming exactly the task's GPUs.
   */
  function assertSetAtStart(v: { gpuIds: number[]; atStart: string | null | undefined }): void {
    if (v.atStart === undefined) return; // /proc/self/environ is Linux only
    assert.equal(v.atStart, v.gpuIds.join(","), "CUDA_VISIBLE_DEVICES at process start");
  }

  test("the driver has no GPU ids", () => {
    assert.deepEqual(ray.getGpuIds(), []);
  });

  test("a task without numGpus sees no GPU ids", async () => {
    const view = await ray.get(gpuView.remote());
    assert.deepEqual(view.gpuIds, []);
  });

  test("a numGpus: 1 task sees one id, also in CUDA_VISIBLE_DEVICES, set when its process started", async () => {
    const view = await ray.get(gpuView.options({ numGpus: 1 }).remote());
    assert.equal(view.gpuIds.length, 1);
    const [id] = view.gpuIds;
    assert.ok(id === 0 || id === 1, `id ${id} is not one of the node's GPUs`);
    assert.equal(view.cuda, String(id));
    assertSetAtStart(view);
  });

  test("a numGpus: 2 task sees both ids", async () => {
    const view = await ray.get(gpuView.options({ numGpus: 2 }).remote());
    assert.deepEqual([...view.gpuIds].sort(), [0, 1]);
    assert.deepEqual(view.cuda?.split(",").map(Number).sort(), [0, 1]);
    assertSetAtStart(view);
  });

  test("two concurrent numGpus: 1 tasks get distinct ids", async () => {
    const dir = tempDir("gpu-distinct");
    const f = meetAt.options({ numGpus: 1 });
    const views = await ray.get([f.remote(dir, 2, 30_000), f.remote(dir, 2, 30_000)]);
    for (const v of views) {
      assert.equal(v.gpuIds.length, 1);
      assert.equal(v.cuda, String(v.gpuIds[0]));
      assertSetAtStart(v);
    }
    assert.notEqual(views[0]!.gpuIds[0], views[1]!.gpuIds[0]);
    assert.notEqual(views[0]!.pid, views[1]!.pid);
  });

  test("fractional demands share a GPU: four numGpus: 0.5 tasks run at once on two GPUs", async () => {
    const dir = tempDir("gpu-share");
    const f = meetAt.options({ numGpus: 0.5, numCpus: 0.5 });
    const views = await ray.get(Array.from({ length: 4 }, () => f.remote(dir, 4, 30_000)));
    const uses = new Map<number, number>();
    for (const v of views) {
      assert.equal(v.gpuIds.length, 1, `a fractional holder sees one id, saw ${v.gpuIds}`);
      assert.equal(v.cuda, String(v.gpuIds[0]));
      assertSetAtStart(v);
      uses.set(v.gpuIds[0]!, (uses.get(v.gpuIds[0]!) ?? 0) + 1);
    }
    assert.ok(
      [...uses.values()].every((n) => n <= 2),
      `no GPU holds more than 1.0: ${JSON.stringify([...uses])}`,
    );
    assert.ok(
      [...uses.values()].some((n) => n === 2),
      "two holders share a GPU",
    );
    await expectAllAvailable();
  });
});

describe("infeasible and waiting demands", () => {
  /** An infeasible demand fails fast: get rejects this soon after submission, not when some wait expires. */
  const FAIL_FAST_MS = 1000;

  /** Submit, then the error get rejects with and how long after submission it came (bounded at 10 s). */
  async function failure(submit: () => ray.ObjectRef<unknown>): Promise<{ err: Error; ms: number }> {
    const t0 = performance.now();
    const ref = submit();
    try {
      await ray.get(ref, { timeout: 10_000 });
    } catch (err) {
      return { err: err as Error, ms: performance.now() - t0 };
    }
    throw new assert.AssertionError({ message: "an infeasible task succeeded" });
  }

  function assertFast(ms: number): void {
    assert.ok(ms < FAIL_FAST_MS, `the infeasible task failed ${Math.round(ms)} ms after submission`);
  }

  test("numGpus: 3 on a 2-GPU node fails fast at get with InfeasibleResourcesError saying what is missing", async () => {
    const { err, ms } = await failure(() => gpuView.options({ numGpus: 3 }).remote());
    assert.ok(err instanceof ray.InfeasibleResourcesError, `got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.code, "INFEASIBLE_RESOURCES");
    assert.match(err.message, /3 GPU/);
    assert.match(err.message, /2/);
    assertFast(ms);
  });

  test("an unknown custom resource is infeasible and named, fast", async () => {
    const { err, ms } = await failure(() => gpuView.options({ resources: { tpu: 1 } }).remote());
    assert.ok(err instanceof ray.InfeasibleResourcesError, `got ${err.constructor.name}: ${err.message}`);
    assert.match(err.message, /tpu/);
    assert.match(err.message, /has 0/);
    assertFast(ms);
  });

  test("too much of a known custom resource is infeasible, fast", async () => {
    const { err, ms } = await failure(() => gpuView.options({ resources: { custom: 3 } }).remote());
    assert.ok(err instanceof ray.InfeasibleResourcesError, `got ${err.constructor.name}: ${err.message}`);
    assertFast(ms);
  });

  test("an infeasible shape does not disturb feasible work", async () => {
    const bad = failure(() => gpuView.options({ numGpus: 5 }).remote());
    const good = square.remote(8);
    assert.equal(await ray.get(good), 64);
    const { err, ms } = await bad;
    assert.ok(err instanceof ray.InfeasibleResourcesError, `got ${err.constructor.name}: ${err.message}`);
    assertFast(ms);
  });

  test("a demand on busy resources waits and then runs", async () => {
    const dir = tempDir("custom-wait");
    const started = join(dir, "started");
    const release = join(dir, "release");
    releases.push(release);
    const holder = holdUntilReleased.options({ resources: { custom: 2 } }).remote(started, release, 30_000);
    let waiter: ray.ObjectRef<number> | undefined;
    try {
      await pollUntil(() => existsSync(started), 20_000, "the holder to start");
      waiter = timestamp.options({ resources: { custom: 1 } }).remote();
      const [ready] = await ray.wait([waiter], { timeout: 0 });
      assert.equal(ready.length, 0, "the waiting task must not run while custom is fully held");
    } finally {
      writeFileSync(release, "go");
    }
    const held = await ray.get(holder);
    const ranAt = await ray.get(waiter!, { timeout: 30_000 });
    assert.ok(ranAt >= held.end, `the waiter ran at ${ranAt}, before the holder ended at ${held.end}`);
  });
});

describe("runtime context", () => {
  test("in the driver: job, node and worker ids, no task id", () => {
    const ctx = ray.getRuntimeContext();
    assert.equal(ctx.isDriver, true);
    assert.equal(ctx.pid, process.pid);
    assert.equal(ctx.taskId, undefined);
    assert.equal(ctx.jobId, cluster.info.jobId);
    assert.equal(ctx.nodeId, cluster.info.nodeId);
    assert.ok(ctx.workerId.length > 0);
  });

  test("in a task: a task id, another worker id, the same node and job", async () => {
    const driver = ray.getRuntimeContext();
    const [a, b] = await ray.get([contextInTask.remote(), contextInTask.remote()]);
    for (const ctx of [a!, b!]) {
      assert.equal(ctx.isDriver, false);
      assert.equal(typeof ctx.taskId, "string", "taskId in a task");
      assert.ok(ctx.taskId!.length > 0);
      assert.notEqual(ctx.workerId, driver.workerId);
      assert.notEqual(ctx.pid, process.pid);
      assert.equal(ctx.nodeId, driver.nodeId, "nodeId in a task");
      assert.equal(ctx.jobId, driver.jobId, "jobId in a task is the driver's job");
    }
    assert.notEqual(a!.taskId, b!.taskId);
  });

  test("nodes() lists this node as alive with its resources", async () => {
    const list = await ray.nodes();
    const me = list.find((n) => (n as { nodeId?: string }).nodeId === cluster.info.nodeId);
    assert.ok(me, `node ${cluster.info.nodeId} missing from ${JSON.stringify(list)}`);
  });
});
