// Issue 6, point 5 (CI size): 300 tasks plus 4 checkpointed counters receiving 100
// calls each, while a worker process is SIGKILLed every 200 ms, alternately a
// counter's process and a worker running a task. Every task result is right,
// every counter call returns what an unkilled counter would, the run really
// killed counters (restored from checkpoints) and interrupted tasks (retried),
// and neither during the run nor after shutdown is any process or shared-memory
// segment left. The bench scenario `chaos` runs the same workload at 2,000 / 500
// with no cap on kills.
//
// Why a cap here: under `npm test` the driver runs with tsx, which workers inherit,
// so every restart costs ~0.5 CPU-s on this 2-core machine; killing every 200 ms for
// the whole workload outpaces what the machine can restart (an uncapped run once
// took 183 s). 20 kills still hit every counter path and several tasks.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as ray from "tsray";
import { chaosApi } from "../fixtures/ft-chaos.js";
import { expectNoLeaks, segmentsOf } from "../fixtures/ft-chaos-leaks.js";
import { type ChaosReport, chaosSeed, expectedTaskValue, runChaos } from "../fixtures/ft-chaos-run.js";
import { useCluster } from "../helpers/cluster.js";
import { expectAllDead, killPids } from "../helpers/processes.js";
import { tempDir } from "../helpers/temp.js";

const cluster = useCluster({ numCpus: 2, logToDriver: false });

let report: ChaosReport | undefined;

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
  const seed = chaosSeed();
  // Printed first, so a run that fails or hangs can be replayed.
  console.log(`chaos seed: ${seed} (replay with TSRAY_CHAOS_SEED=${seed})`);
  report = await runChaos(chaosApi, {
    seed,
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
  const { pidsSeen, killedPids, ...figures } = report;
  console.log(`chaos figures: ${JSON.stringify({ ...figures, wallMs: Math.round(figures.wallMs) })}`);
  // The killer alternates, so both kinds of victims were hit.
  assert.ok(report.kills >= 4, `the killer struck ${report.kills} times`);
  assert.ok(report.actorKills >= 1, "at least one counter process was killed");
  assert.ok(report.taskKills >= 1, "at least one task worker was killed");
  assert.equal(report.kills, report.actorKills + report.taskKills);
  // Each counter kill is one restart, and nothing else restarts a counter: task kills
  // hit only workers running a task, and no other cause of death is at work here.
  assert.equal(report.actorRestarts, report.actorKills, "counter restarts = counter kills");
  // A counter killed with calls left (and a checkpoint committed) comes back from
  // that checkpoint: some incarnation after the first started above 1.
  assert.ok(report.actorKillsWithWorkLeft >= 1, "a counter was killed with calls still to run");
  assert.ok(report.restoredIncarnations >= 1, "an incarnation restored a checkpoint and ran calls");
  // Interrupted tasks ran again (runChaos checks each one), so attempts exceed tasks.
  assert.ok(report.midTaskKills >= 1, "a kill interrupted a running task");
  assert.ok(report.retriedTasks >= 1);
  assert.ok(report.taskAttempts >= report.tasks + report.midTaskKills);
  assert.ok(report.actorExecutions >= report.actorCalls);
  // While the cluster is up: nothing the run started has leaked.
  await expectNoLeaks(chaosApi, [...pidsSeen, ...killedPids], 10_000);
  // The cluster is still healthy afterwards.
  const dir = tempDir("chaos-after");
  const ref = chaosApi.submitTask(3, dir) as ray.ObjectRef<number>;
  assert.equal(await ray.get(ref), expectedTaskValue(3));
});
