// A reader on the node maps a stored object it received inside a value without asking
// its owner first: the ref says where the value is (docs/design/serialization.md).
// Its own cluster: the test makes the driver (the owner) unresponsive for a while.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as ray from "tsray";
import { timedGetAfter } from "../fixtures/store-tasks.js";
import { useCluster } from "../helpers/cluster.js";
import { pollUntil } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";
import { assertView, MiB, patterned, storeBytes } from "./helpers.js";

const cluster = useCluster({ numCpus: 2, objectStoreMemory: 64 * MiB, logToDriver: false });

test("a worker reads a stored object it received inside a value without asking its owner", async () => {
  // The ref travels with where its value sits (this node's store), so the reader maps
  // it at once. Proof: the owner (this driver) answers nothing while the task reads.
  const capacity = storeBytes(cluster.info);
  const ref = await ray.put(patterned(MiB, 3)); // 8 MiB of float64: in the store
  const dir = tempDir("store-owner-busy");
  const out = timedGetAfter.remote({ ref }, dir);
  await pollUntil(() => existsSync(join(dir, "started")), 20_000, "the reading task to start");
  writeFileSync(join(dir, "go"), "");
  const blockMs = 1500;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, blockMs); // the owner stops answering
  const { ms, report: r } = await ray.get(out, { timeout: 30_000 });
  assertView(r, capacity, "worker get while the owner was blocked");
  assert.ok(ms < blockMs / 2, `the get took ${ms.toFixed(1)} ms: it waited for the blocked owner`);
});
