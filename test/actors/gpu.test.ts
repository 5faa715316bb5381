// SPEC 12-14 for actors: an actor holds its resources for life (none unless it
// names numCpus); numGpus: k gives k distinct GPU ids, seen through getGpuIds() and
// CUDA_VISIBLE_DEVICES; no two holders share a whole GPU, fractional demands share;
// an actor waiting for a busy GPU starts when one frees; an impossible demand throws
// InfeasibleResourcesError at .remote(). Two fake GPUs are declared (init numGpus).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ray from "tsray";
import { Counter, GpuProbe } from "../fixtures/actors.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";

useCluster({ numCpus: 2, numGpus: 2, logToDriver: false });

type Probe = ReturnType<typeof GpuProbe.remote>;

async function killAll(handles: Probe[]): Promise<void> {
  await Promise.all(handles.map((h) => ray.kill(h)));
}

/** Wait until the cluster has all its GPUs back (kills release them asynchronously). */
async function gpusFree(): Promise<void> {
  await pollUntil(async () => (await ray.availableResources()).GPU === 2, 10_000, "both GPUs to be free");
}

describe("GPU actors", () => {
  test("the cluster declares 2 GPUs; the driver holds none", async () => {
    assert.equal((await ray.clusterResources()).GPU, 2);
    assert.deepEqual(ray.getGpuIds(), []);
  });

  test("two numGpus: 1 actors get distinct ids, each matching its process's CUDA_VISIBLE_DEVICES", async () => {
    const probes = [GpuProbe.remote(), GpuProbe.remote()];
    try {
      const infos = await ray.get(probes.map((p) => p.info.remote()));
      const ids = infos.map((i) => i.gpuIds);
      assert.deepEqual(
        [...ids].sort((x, y) => x[0]! - y[0]!),
        [[0], [1]],
      );
      for (const i of infos) {
        assert.equal(i.cuda, i.gpuIds.join(","));
        // Set before the process started (GPU libraries read it once, at load).
        if (i.atStart !== undefined)
          assert.equal(i.atStart, i.gpuIds.join(","), "CUDA_VISIBLE_DEVICES at start");
      }
      assert.notEqual(infos[0]!.pid, infos[1]!.pid);
      // An actor keeps its GPU for life.
      assert.deepEqual(
        (await ray.get(probes.map((p) => p.info.remote()))).map((i) => i.gpuIds),
        ids,
      );
      assert.equal((await ray.availableResources()).GPU ?? 0, 0, "both GPUs should be held");
    } finally {
      await killAll(probes);
    }
  });

  test("numGpus via .options() overrides the class's; numGpus: 2 gets both ids", async () => {
    await gpusFree();
    const both = GpuProbe.options({ numGpus: 2 }).remote();
    try {
      const info = await ray.get(both.info.remote());
      assert.deepEqual([...info.gpuIds].sort(), [0, 1]);
      assert.deepEqual(info.cuda?.split(",").map(Number).sort(), [0, 1]);
    } finally {
      await ray.kill(both);
    }
  });

  test("a third numGpus: 1 actor waits while both GPUs are held, and starts when one is freed", async () => {
    await gpusFree();
    const [a, b] = [GpuProbe.remote(), GpuProbe.remote()];
    const c = GpuProbe.remote();
    try {
      const [ia] = await ray.get([a.info.remote(), b.info.remote()]);
      const pending = c.info.remote();
      // Bounded check that it does not run while both GPUs are held.
      const [ready] = await ray.wait([pending], { timeout: 500 });
      assert.equal(ready.length, 0, "the third GPU actor ran while both GPUs were held");
      const states = (await ray.listActors()).filter((x) => x.className === "GpuProbe" && x.state !== "DEAD");
      assert.equal(states.filter((x) => x.state === "PENDING").length, 1, JSON.stringify(states));

      await ray.kill(a);
      const ic = await ray.get(pending, { timeout: 10_000 });
      assert.deepEqual(ic.gpuIds, ia!.gpuIds, "the third actor should get the freed GPU");
      assert.equal(ic.cuda, ic.gpuIds.join(","));
    } finally {
      await killAll([a, b, c]);
    }
  });

  test("more GPUs than the cluster has: InfeasibleResourcesError at .remote(), naming GPU", () => {
    assert.throws(
      () => GpuProbe.options({ numGpus: 3 }).remote(),
      (err: Error) => {
        assert.ok(
          err instanceof ray.InfeasibleResourcesError,
          `expected InfeasibleResourcesError, got ${err}`,
        );
        assert.match(err.message, /GPU/);
        assert.match(err.message, /needs 3 GPU/);
        assert.match(err.message, /has 2/);
        assert.match(err.message, /GpuProbe/);
        return true;
      },
    );
    assert.throws(() => Counter.options({ resources: { TPU: 1 } }).remote(), ray.InfeasibleResourcesError);
    assert.throws(() => Counter.options({ numCpus: 64 }).remote(), /CPU/);
  });

  test("fractional numGpus: 0.5 actors share GPUs (four fit on two GPUs at once)", async () => {
    await gpusFree();
    const halves = Array.from({ length: 4 }, () => GpuProbe.options({ numGpus: 0.5 }).remote());
    try {
      const infos = await ray.get(
        halves.map((h) => h.info.remote()),
        { timeout: 20_000 },
      );
      const perGpu = new Map<number, number>();
      for (const i of infos) {
        assert.equal(i.gpuIds.length, 1, `a fractional actor should see one GPU id, got ${i.gpuIds}`);
        assert.equal(i.cuda, String(i.gpuIds[0]));
        perGpu.set(i.gpuIds[0]!, (perGpu.get(i.gpuIds[0]!) ?? 0) + 1);
      }
      assert.deepEqual([...perGpu.entries()].sort(), [
        [0, 2],
        [1, 2],
      ]);
    } finally {
      await killAll(halves);
    }
  });
});

describe("CPU resources of actors", () => {
  test("an actor that names no numCpus holds no CPU; one with numCpus: 1 holds it for life", async () => {
    const free = Array.from({ length: 3 }, () => Counter.remote());
    await ray.get(free.map((c) => c.increment.remote()));
    await pollUntil(async () => (await ray.availableResources()).CPU === 2, 10_000, "2 CPUs available");
    const holder = Counter.options({ numCpus: 1 }).remote();
    await ray.get(holder.increment.remote());
    assert.equal((await ray.availableResources()).CPU, 1);
    await ray.kill(holder);
    await pollUntil(async () => (await ray.availableResources()).CPU === 2, 10_000, "the CPU to come back");
    await Promise.all(free.map((c) => ray.kill(c)));
  });
});
