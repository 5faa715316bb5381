/**
 * `chaos` (issue 6): 2,000 tasks plus 4 checkpointed counters receiving 500 calls
 * each while a random busy worker is SIGKILLed every 200 ms (at most
 * CHAOS_MAX_KILLS kills, default 50). Every result is checked (see
 * test/fixtures/ft-chaos-run.ts); the value is the wall time in seconds, and a
 * `chaos details` line reports kills, task attempts, actor restarts and replays.
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { get, kill, listActors, listWorkers, type ObjectRef, remote } from "tsray";
import { type ChaosApi, runChaos } from "../../test/fixtures/ft-chaos-run.js";
import { emit, register } from "../harness.js";

function work(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}

/** Same as test/fixtures/ft-chaos.ts chaosTask (expectedTaskValue checks it). */
const chaosTask = remote((i: number, attemptsFile: string): number => {
  appendFileSync(attemptsFile, "a\n");
  work(5);
  let h = i;
  for (let k = 0; k < 1000; k++) h = (Math.imul(h, 1103515245) + 12345) >>> 0;
  return h;
});

const ChaosCounter = remote(
  class ChaosCounter {
    value = 0;

    constructor(readonly file: string) {}

    inc(): number {
      work(1);
      this.value++;
      appendFileSync(this.file, `${this.value}\n`);
      return this.value;
    }

    saveCheckpoint(): number {
      return this.value;
    }

    restoreCheckpoint(v: number): void {
      this.value = v;
    }
  },
);

const api: ChaosApi = {
  get: (refs, opts) => get(refs as ObjectRef<unknown>[], opts),
  listWorkers: () => listWorkers(),
  listActors: () => listActors(),
  submitTask: (i, file) => chaosTask.options({ maxRetries: -1 }).remote(i, file),
  newCounter: (file, calls) => {
    const h = ChaosCounter.options({ maxRestarts: -1, checkpointEvery: { calls } }).remote(file);
    return { inc: () => h.inc.remote(), kill: () => kill(h) };
  },
};

register({
  name: "chaos",
  unit: "s",
  run: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsray-bench-chaos-"));
    try {
      const r = await runChaos(api, {
        tasks: 2_000,
        actors: 4,
        callsPerActor: 500,
        rounds: 40,
        killEveryMs: 200,
        maxKills: Number(process.env.CHAOS_MAX_KILLS ?? 50),
        checkpointCalls: 10,
        dir,
        timeoutMs: 120_000,
      });
      const { pidsSeen: _, wallMs, ...figures } = r;
      emit({
        name: "chaos details",
        value: null,
        unit: "info",
        ...figures,
        wallS: Math.round(wallMs) / 1000,
      });
      return wallMs / 1000;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
