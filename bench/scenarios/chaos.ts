/**
 * `chaos` (issue 6): 2,000 tasks plus 4 checkpointed counters receiving 500 calls
 * each while a worker is SIGKILLed every 200 ms for the whole workload (alternately
 * a counter's process and a worker running a task; CHAOS_MAX_KILLS caps the kills,
 * default none). Every result and invariant is checked (test/fixtures/ft-chaos-run.ts),
 * then leaks (test/fixtures/ft-chaos-leaks.ts): no worker the run saw outlives its
 * place in the pool, no unlisted child of the node manager, no shared-memory
 * segment of a worker. The value is the wall time in seconds; a `chaos details`
 * line reports kills, attempts, restarts and replays, and the seed (TSRAY_CHAOS_SEED
 * replays the killer's choices).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chaosApi } from "../../test/fixtures/ft-chaos.js";
import { expectNoLeaks } from "../../test/fixtures/ft-chaos-leaks.js";
import { type ChaosReport, chaosSeed, runChaos } from "../../test/fixtures/ft-chaos-run.js";
import { emit, register, type Scenario } from "../harness.js";

/** CHAOS_MAX_KILLS: a positive integer, or unset/empty for no cap (the default). */
function maxKills(): number | undefined {
  const raw = process.env.CHAOS_MAX_KILLS;
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new TypeError(
      `CHAOS_MAX_KILLS must be a positive integer (or unset for no cap), got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** What every run must have exercised; throws naming what it did not. */
function checkExercised(r: ChaosReport): void {
  const missing: string[] = [];
  if (r.actorKills < 1) missing.push("no counter process was killed");
  if (r.actorRestarts !== r.actorKills)
    missing.push(`${r.actorRestarts} restarts for ${r.actorKills} counter kills`);
  if (r.restoredIncarnations < 1) missing.push("no incarnation restored a checkpoint");
  if (r.midTaskKills < 1) missing.push("no kill interrupted a task");
  if (missing.length > 0) throw new Error(`chaos did not exercise what it should: ${missing.join("; ")}`);
}

const chaos: Scenario & { readonly limitSeconds: number } = {
  name: "chaos",
  unit: "s",
  // Kills for the whole run cost ~0.23 CPU-s each (a new worker): on a busy 2-core machine
  // the run takes minutes, so the watchdog allows well past its default.
  limitSeconds: 600,
  run: async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsray-bench-chaos-"));
    const seed = chaosSeed();
    // On stderr before the run, so a failed or hung run can be replayed (TSRAY_CHAOS_SEED).
    process.stderr.write(`chaos seed: ${seed} (replay with TSRAY_CHAOS_SEED=${seed})\n`);
    try {
      const r = await runChaos(chaosApi, {
        seed,
        tasks: 2_000,
        actors: 4,
        callsPerActor: 500,
        rounds: 40,
        killEveryMs: 200,
        maxKills: maxKills(),
        checkpointCalls: 10,
        dir,
        timeoutMs: 120_000,
      });
      checkExercised(r);
      const workersLeft = await expectNoLeaks(chaosApi, [...r.pidsSeen, ...r.killedPids], 10_000);
      const { pidsSeen, killedPids: _, wallMs, ...figures } = r;
      emit({
        name: "chaos details",
        value: null,
        unit: "info",
        ...figures,
        wallS: Math.round(wallMs) / 1000,
        pidsSeen: pidsSeen.length,
        workersLeft,
      });
      return wallMs / 1000;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
register(chaos);
