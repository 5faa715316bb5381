/**
 * `memory soak` (issue 4): memory stays flat under distributed reference counting.
 * Runs SOAK_TASKS small tasks (default 1,000,000) in batches of 1,000 — results got,
 * refs dropped (every other batch released with release(), the others left to the
 * garbage collector) — then SOAK_PUTS puts of 1 KiB (default 100,000, inline: they
 * live in the driver) and SOAK_LARGE_PUTS puts of 1 MiB (default 1,000, above the
 * 100 KiB inline threshold: they go to the shared-memory store), released.
 *
 * Before and after, it settles — the driver collects; every worker finishes its
 * idle collections (memory() reports `gcPending` until then: event-based, bounded)
 * — then measures the driver's RSS and heap, the workers' RSS and heap, the live
 * objects and owned bytes per process, and the object store's bytes and objects in
 * use (memory().objectStores). The driver's RSS line also gives what of it is the
 * store's pages (RssShmem), its committed V8 heap and its external memory, so growth
 * outside them (the allocator's retained pages) shows. Prints extra JSON lines
 * `{"name":"memory soak: ...","value",...}`; the scenario's own value is the driver's
 * RSS delta in MB.
 */
import { readFileSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { get, type MemorySummary, memory, type ObjectRef, type ObjectStoreStats, put } from "tsray";
import { collect, emit, register, type Scenario } from "../harness.js";
import { smallValue } from "../tasks.js";

const BATCH = 1000;
/** Large puts are released in batches of this many (100 MiB held at a time). */
const LARGE_BATCH = 100;
const MB = 1024 * 1024;
/** Bound for the workers' idle collections after the load (the quiet one comes 6 s into idleness). */
const SETTLE_MS = 20_000;

/** A non-negative integer from the environment, else `fallback`. */
function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new TypeError(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * This process's resident shared-memory bytes (Linux `RssShmem`): pages of the object
 * store's arena it wrote or read, counted in its RSS although they are the store's.
 * 0 where /proc is missing.
 */
function rssShmem(): number {
  try {
    const m = /^RssShmem:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** One measurement of the cluster's memory. */
interface Snapshot {
  driverRss: number;
  /** Of the driver's RSS: store pages (shared memory). */
  driverShmem: number;
  driverHeap: number;
  /** The driver's committed V8 heap (heapTotal): what its heap takes of its RSS. */
  driverHeapTotal: number;
  /** Memory of the driver's Buffers and ArrayBuffers outside the V8 heap (`external`). */
  driverExternal: number;
  workersRss: number;
  workersHeap: number;
  workers: number;
  /** Live objects cluster-wide (distinct ids in memory()). */
  liveObjects: number;
  /** Objects owned by the driver, and their bytes. */
  driverObjects: number;
  driverBytes: number;
  /** Bytes owned by every process together (the in-memory store of small objects). */
  ownedBytes: number;
  store: ObjectStoreStats;
  /** How long the workers' idle collections took to finish, and whether the bound cut the wait short. */
  settleMs: number;
  settleTimedOut: boolean;
  perProcess: Array<{
    pid: number;
    kind: string;
    rss: number;
    heapUsed: number;
    fullGcs: number;
    objects: number;
    bytes: number;
  }>;
}

const workersOf = (m: MemorySummary) => m.processes.filter((p) => p.pid !== process.pid);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/**
 * Collect in the driver (its finalizers release refs), wait until no worker has a
 * collection due (`gcPending`) and `done(m)` holds, both bounded by SETTLE_MS; then
 * wait for the workers' RSS to stop falling (V8 gives pages back just after a
 * collection), at most 2 s. Returns the last memory() report.
 */
async function settle(done: (m: MemorySummary) => boolean): Promise<[MemorySummary, number, boolean]> {
  const t0 = performance.now();
  let m: MemorySummary;
  for (;;) {
    collect();
    for (let i = 0; i < 3; i++) await nextTurn(); // finalization callbacks run as tasks
    m = await memory();
    if (!workersOf(m).some((p) => p.gcPending) && done(m)) break;
    if (performance.now() - t0 > SETTLE_MS) return [m, performance.now() - t0, true];
    await pause(50);
  }
  const settleMs = performance.now() - t0;
  for (let i = 0, last = -1; i < 20; i++) {
    const rss = sum(workersOf(m).map((p) => p.rss));
    if (rss === last) break;
    last = rss;
    await pause(100);
    m = await memory();
  }
  return [m, settleMs, false];
}

async function measure(done: (m: MemorySummary) => boolean = () => true): Promise<Snapshot> {
  const [m, settleMs, settleTimedOut] = await settle(done);
  collect();
  const mine = m.processes.find((p) => p.pid === process.pid);
  const workers = workersOf(m);
  const usage = process.memoryUsage();
  return {
    driverRss: usage.rss,
    driverShmem: rssShmem(),
    driverHeap: usage.heapUsed,
    driverHeapTotal: usage.heapTotal,
    driverExternal: usage.external,
    workersRss: sum(workers.map((p) => p.rss)),
    workersHeap: sum(workers.map((p) => p.heapUsed)),
    workers: workers.length,
    liveObjects: m.objects.length,
    driverObjects: mine?.objects ?? 0,
    driverBytes: mine?.bytes ?? 0,
    ownedBytes: sum(m.processes.map((p) => p.bytes)),
    store: m.objectStores[0]!,
    settleMs,
    settleTimedOut,
    perProcess: m.processes.map((p) => ({
      pid: p.pid,
      kind: p.kind,
      rss: p.rss,
      heapUsed: p.heapUsed,
      fullGcs: p.fullGcs,
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

/** `puts` puts of `value`, released `batch` at a time. Returns puts per second. */
async function runPuts(puts: number, value: Uint8Array, batch: number): Promise<number> {
  const t0 = performance.now();
  for (let done = 0; done < puts; done += batch) {
    const n = Math.min(batch, puts - done);
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
    const largePuts = envCount("SOAK_LARGE_PUTS", 1_000);
    const small = new Uint8Array(1024).fill(7);
    const large = new Uint8Array(MB).fill(9);
    // Warm up (workers started, code compiled, store pages touched) so the baseline is not the startup cost.
    await runTasks(Math.min(tasks, 10 * BATCH));
    await runPuts(Math.min(puts, BATCH), small, BATCH);
    await runPuts(Math.min(largePuts, LARGE_BATCH), large, LARGE_BATCH);
    const before = await measure();
    const t0 = performance.now();
    const taskRate = await runTasks(tasks);
    const putRate = await runPuts(puts, small, BATCH);
    const largeRate = await runPuts(largePuts, large, LARGE_BATCH);
    const seconds = (performance.now() - t0) / 1000;
    // Stragglers (a RemoveBorrower in flight, a view not yet collected) get the same bound.
    const after = await measure(
      (m) => m.objects.length <= before.liveObjects && m.objectStores[0]!.usedBytes <= before.store.usedBytes,
    );
    const driverRssDelta = (after.driverRss - before.driverRss) / MB;
    const common = { tasks, puts, largePuts };
    emit({
      name: "memory soak: tasks",
      value: round(taskRate),
      unit: "per_s",
      ...common,
      seconds: round(seconds),
    });
    emit({ name: "memory soak: puts", value: round(putRate), unit: "per_s", ...common });
    emit({ name: "memory soak: large puts (1 MiB)", value: round(largeRate), unit: "per_s", ...common });
    /** A before/after figure in MB: value is the change. */
    const delta = (name: string, b: number, a: number, extra: Record<string, unknown> = {}) =>
      emit({
        name,
        value: round((a - b) / MB),
        unit: "MB",
        beforeMB: round(b / MB),
        afterMB: round(a / MB),
        ...extra,
      });
    delta("memory soak: driver rss delta", before.driverRss, after.driverRss, {
      storePagesBeforeMB: round(before.driverShmem / MB),
      storePagesAfterMB: round(after.driverShmem / MB),
      heapCommittedBeforeMB: round(before.driverHeapTotal / MB),
      heapCommittedAfterMB: round(after.driverHeapTotal / MB),
      externalBeforeMB: round(before.driverExternal / MB),
      externalAfterMB: round(after.driverExternal / MB),
    });
    delta("memory soak: driver heap delta", before.driverHeap, after.driverHeap);
    delta("memory soak: workers rss delta", before.workersRss, after.workersRss, {
      workersBefore: before.workers,
      workersAfter: after.workers,
      settleMs: Math.round(after.settleMs),
      settleTimedOut: after.settleTimedOut,
    });
    delta("memory soak: workers heap delta", before.workersHeap, after.workersHeap);
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
    emit({
      name: "memory soak: store used bytes after",
      value: after.store.usedBytes,
      unit: "bytes",
      before: before.store.usedBytes,
      objectsBefore: before.store.numObjects,
      objectsAfter: after.store.numObjects,
      spilledBytesAfter: after.store.spilledBytes,
      spilledObjectsTotal: after.store.spilledObjectsTotal,
      capacity: after.store.capacity,
      backend: after.store.backend,
    });
    emit({ name: "memory soak: processes after", value: null, unit: "info", processes: after.perProcess });
    return driverRssDelta;
  },
};
register(soak);
