// Worker leases (Ray's direct task submission): an owner leases a worker per resource
// shape and pushes task after task to it, so sequential tasks of one shape run in the
// same process and no worker is started per task.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
// First: it sets TSRAY_LEASE_IDLE_MS before tsray reads its settings.
import "../fixtures/long-lease-idle.js";
import * as ray from "tsray";
import { whoAmI } from "../fixtures/tasks.js";
import { useCluster } from "../helpers/cluster.js";

useCluster({ numCpus: 2, logToDriver: false });

describe("leases", () => {
  test("sequential same-shape tasks reuse one leased worker; no worker is started per task", async () => {
    const first = await ray.get(whoAmI.remote());
    const workersAfterFirst = await ray.listWorkers();
    assert.ok(
      workersAfterFirst.some((w) => w.pid === first),
      `the task's pid ${first} is not among the workers`,
    );
    // Between tasks the owner keeps its lease: over 100 ms of node-manager round trips
    // (each one ordered after any ReturnLease the owner sent before it), the worker stays leased.
    const t0 = performance.now();
    for (let trips = 0; trips < 5 || performance.now() - t0 < 100; trips++) {
      const state = (await ray.listWorkers()).find((w) => w.pid === first)?.state;
      assert.equal(state, "leased", `the idle worker was handed back after ${trips} round trips`);
    }

    for (let i = 0; i < 20; i++) {
      assert.equal(await ray.get(whoAmI.remote()), first, `task ${i + 2} ran in another worker`);
    }

    const known = new Set(workersAfterFirst.map((w) => w.pid));
    const started = (await ray.listWorkers()).filter((w) => !known.has(w.pid));
    assert.deepEqual(started, [], "workers started while the tasks ran");
    const leased = (await ray.listWorkers()).filter((w) => w.state === "leased").map((w) => w.pid);
    assert.deepEqual(leased, [first], "one lease serves the whole sequence");
  });
});
