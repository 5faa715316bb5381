// Issue 6, point 5 (CI size): 300 tasks plus 4 checkpointed counters receiving 100
// calls each, while a random worker process is SIGKILLed every 200 ms. Every task
// result is right, every counter call returns what an unkilled counter would, and
// after shutdown no process the cluster ever had and no shared-memory segment of
// ours is left. The bench scenario `chaos` runs the same workload at 2,000 / 500.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, test } from "node:test";
import * as ray from "tsray";
import { chaosApi } from "../fixtures/ft-chaos.js";
import { type ChaosReport, expectedTaskValue, runChaos } from "../fixtures/ft-chaos-run.js";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, killPids } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

let report: ChaosReport | undefined;

/** /dev/shm entries named after one of `pids` (tsray names segments /tsray-<creator pid>-...). */
function segmentsOf(pids: Set<number>): string[] {
  let names: string[];
  try {
    names = readdirSync("/dev/shm");
  } catch {
    return []; // no /dev/shm on this platform
  }
  return names.filter((n) => {
    const m = /^tsray-(\d+)-/.exec(n);
    return m !== null && pids.has(Number(m[1]));
  });
}

// Runs after useCluster's teardown (hooks run in registration order): every pid the
// killer ever saw, and the head, must be gone, and none of them may have left a segment.
after(async () => {
  if (!report) return;
  const pids = new Set([...report.pidsSeen, cluster.info.headPid!]);
  try {
    await expectAllDead([...pids], 10_000);
  } finally {
    killPids(pids);
  }
  pids.add(process.pid);
  assert.deepEqual(segmentsOf(pids), [], "shared-memory segments left behind");
});

test("chaos: 300 tasks and 4 x 100 checkpointed counter calls under a SIGKILL every 200 ms", async () => {
  report = await runChaos(chaosApi, {
    tasks: 300,
    actors: 4,
    callsPerActor: 100,
    rounds: 20,
    killEveryMs: 200,
    maxKills: 20,
    checkpointCalls: 10,
    dir: tempDir("chaos"),
    timeoutMs: 90_000,
  });
  const { pidsSeen, ...figures } = report;
  console.log(`chaos figures: ${JSON.stringify({ ...figures, wallMs: Math.round(figures.wallMs) })}`);
  assert.ok(report.kills >= 3, `the killer struck ${report.kills} times`);
  assert.ok(report.taskAttempts >= report.tasks, "every task ran at least once");
  assert.ok(report.actorExecutions >= report.actorCalls, "every counter call ran at least once");
  assert.ok(pidsSeen.length > 4);
  // The cluster is still healthy afterwards.
  const ref = chaosApi.submitTask(3, `${tempDir("chaos-after")}/a`) as ray.ObjectRef<number>;
  assert.equal(await ray.get(ref), expectedTaskValue(3));
});
