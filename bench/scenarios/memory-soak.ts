/**
 * `memory soak` (issue 4): memory stays flat under distributed reference counting.
 * Runs SOAK_TASKS small tasks (default 1,000,000) in batches of 1,000 — results got,
 * refs dropped (every other batch released with release(), the others left to the
 * garbage collector) — then SOAK_PUTS puts of 1 KiB (default 100,000), released.
 * Before and after (driver collected, workers settled) it measures the driver's RSS
 * and heap, the workers' RSS (from memory().processes) and the live objects and
 * owned bytes per process (memory()). Prints extra JSON lines
 * `{"name":"memory soak: ...","value",...}`; the scenario's own value is the
 * driver's RSS delta in MB (end minus start).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { get, type MemorySummary, memory, type ObjectRef, put } from "tsray";
import { emit, register, type Scenario } from "../harness.js";
import { smallValue } from "../tasks.js";

const BATCH = 1000;
const MB = 1024 * 1024;

/** A positive integer from the environment, else `fallback`. */
function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new TypeError(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

let gcFn: (() => void) | undefined;
/** A full collection in this process (the bench runs without --expose-gc). */
function collect(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One measurement of the cluster's memory. */
interface Snapshot {
  driverRss: number;
  driverHeap: number;
  workersRss: number;
  workers: number;
  /** Live objects cluster-wide (distinct ids in memory()). */
  liveObjects: number;
  /** Objects owned by the driver, and their bytes. */
  driverObjects: number;
  driverBytes: number;
  /** Bytes owned by every process together (the in-memory store of small objects). */
  ownedBytes: number;
  perProcess: Array<{ pid: number; kind: string; rss: number; objects: number; bytes: number }>;
}

/** Collect in the driver, give workers time to collect and report, then measure. */
async function settleAndMeasure(): Promise<Snapshot> {
  for (let i = 0; i < 3; i++) {
    collect();
    await pause(50);
  }
  await pause(300); // workers collect ~20 ms after their last task; borrowers report to owners
  collect();
  const m: MemorySummary = await memory();
  const mine = m.processes.find((p) => p.pid === process.pid);
  const workers = m.processes.filter((p) => p.pid !== process.pid);
  const usage = process.memoryUsage();
  return {
    driverRss: usage.rss,
    driverHeap: usage.heapUsed,
    workersRss: workers.reduce((s, p) => s + p.rss, 0),
    workers: workers.length,
    liveObjects: m.objects.length,
    driverObjects: mine?.objects ?? 0,
    driverBytes: mine?.bytes ?? 0,
    ownedBytes: m.processes.reduce((s, p) => s + p.bytes, 0),
    perProcess: m.processes.map((p) => ({
      pid: p.pid,
      kind: p.kind,
      rss: p.rss,
      objects: p.objects,
      bytes: p.bytes,
    })),
  };
}

/** `tasks` small tasks in batches of 1,000; results got, refs dropped. Returns tasks per second. */
async function runTasks(tasks: number): Promise<number> {
  const t0 = performance.now();
  for (let done = 0, batch = 0; done < tasks; done += BATCH, batch++) {
    const n = Math.min(BATCH, tasks - done);
    const refs: ObjectRef<string>[] = new Array(n);
    for (let i = 0; i < n; i++) refs[i] = smallValue.remote();
    await get(refs);
    if (batch % 2 === 0) for (const r of refs) r.release(); // the other batches: left to the GC
  }
  return tasks / ((performance.now() - t0) / 1000);
}

/** `puts` puts of 1 KiB, each released once a batch is done. Returns puts per second. */
async function runPuts(puts: number): Promise<number> {
  const value = new Uint8Array(1024).fill(7);
  const t0 = performance.now();
  for (let done = 0; done < puts; done += BATCH) {
    const n = Math.min(BATCH, puts - done);
    const refs: ObjectRef<Uint8Array>[] = new Array(n);
    for (let i = 0; i < n; i++) refs[i] = await put(value);
    for (const r of refs) r.release();
  }
  return puts / ((performance.now() - t0) / 1000);
}

const round = (v: number) => Math.round(v * 100) / 100;

const soak: Scenario & { readonly limitSeconds: number } = {
  name: "memory soak",
  unit: "MB",
  /** 1M tasks take minutes on 2 cores: the watchdog allows this many seconds. */
  limitSeconds: 3600,
  run: async () => {
    const tasks = envCount("SOAK_TASKS", 1_000_000);
    const puts = envCount("SOAK_PUTS", 100_000);
    // Warm up (workers started, code compiled) so the baseline is not the startup cost.
    await runTasks(Math.min(tasks, 10 * BATCH));
    await runPuts(Math.min(puts, BATCH));
    const before = await settleAndMeasure();
    const t0 = performance.now();
    const taskRate = await runTasks(tasks);
    const putRate = await runPuts(puts);
    const seconds = (performance.now() - t0) / 1000;
    let after = await settleAndMeasure();
    // Stragglers (a worker's last collection, a RemoveBorrower in flight): wait up to 10 s.
    for (let i = 0; i < 20 && after.liveObjects > before.liveObjects; i++) after = await settleAndMeasure();
    const driverRssDelta = (after.driverRss - before.driverRss) / MB;
    const common = { tasks, puts };
    emit({
      name: "memory soak: tasks",
      value: round(taskRate),
      unit: "per_s",
      ...common,
      seconds: round(seconds),
    });
    emit({ name: "memory soak: puts", value: round(putRate), unit: "per_s", ...common });
    emit({
      name: "memory soak: driver rss delta",
      value: round(driverRssDelta),
      unit: "MB",
      beforeMB: round(before.driverRss / MB),
      afterMB: round(after.driverRss / MB),
    });
    emit({
      name: "memory soak: driver heap delta",
      value: round((after.driverHeap - before.driverHeap) / MB),
      unit: "MB",
      beforeMB: round(before.driverHeap / MB),
      afterMB: round(after.driverHeap / MB),
    });
    emit({
      name: "memory soak: workers rss delta",
      value: round((after.workersRss - before.workersRss) / MB),
      unit: "MB",
      beforeMB: round(before.workersRss / MB),
      afterMB: round(after.workersRss / MB),
      workersBefore: before.workers,
      workersAfter: after.workers,
    });
    emit({
      name: "memory soak: live objects after",
      value: after.liveObjects,
      unit: "count",
      before: before.liveObjects,
      driverOwnedBefore: before.driverObjects,
      driverOwnedAfter: after.driverObjects,
    });
    emit({
      name: "memory soak: owned bytes after",
      value: after.ownedBytes,
      unit: "bytes",
      before: before.ownedBytes,
      driverBytesBefore: before.driverBytes,
      driverBytesAfter: after.driverBytes,
    });
    emit({ name: "memory soak: processes after", value: null, unit: "info", processes: after.perProcess });
    return driverRssDelta;
  },
};
register(soak);
