/** Actor scenarios of Ray's microbenchmark, plus actor creation latency and idle memory. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { get, kill, listWorkers, type ObjectRef } from "tsray";
import { Actor, AsyncActor, Client, work } from "../actors.js";
import { emit, register, timeit } from "../harness.js";

const BATCH = 1000;
/** Ray uses cpu_count() // 2 actors for the n:n scenarios. */
const N_CPU = Math.max(1, Math.floor(availableParallelism() / 2));

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Wait until the node's worker pool is warm and quiet again: an idle worker to lease,
 * none starting, and the process of `killedPid` (the previous actor) gone, so neither
 * a replacement starting up nor a dying process competes for the CPUs being measured.
 * Polls every 10 ms, at most `timeoutMs`.
 */
async function poolSettled(killedPid: number | undefined, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const workers = await listWorkers();
    const idle = workers.some((w) => w.state === "idle");
    const starting = workers.filter((w) => w.state === "starting").length;
    const killedAlive = workers.some((w) => w.pid === killedPid);
    if (idle && starting === 0 && !killedAlive) return;
    if (performance.now() > deadline) {
      throw new Error(
        `the worker pool did not settle within ${timeoutMs} ms (idle worker: ${idle}, starting: ${starting}, ` +
          `killed actor's process still listed: ${killedAlive})`,
      );
    }
    await pause(10);
  }
}

/** Resident set size of `pid` in KiB (VmRSS). */
function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/**
 * The RSS of an idle process once start-up effects (lazy compilation, the collection
 * after its first call) are over: sampled every 50 ms until 10 samples in a row
 * (half a second) are within 1% of each other; at most `timeoutMs`.
 */
async function settledRssKb(pid: number, timeoutMs = 10_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const recent: number[] = [];
  for (;;) {
    recent.push(rssKb(pid));
    if (recent.length > 10) recent.shift();
    const hi = Math.max(...recent);
    if (recent.length === 10 && hi - Math.min(...recent) <= hi * 0.01) return recent[recent.length - 1]!;
    if (performance.now() > deadline) {
      throw new Error(
        `the RSS of pid ${pid} did not settle within ${timeoutMs} ms (KiB: ${recent.join(", ")})`,
      );
    }
    await pause(50);
  }
}

function batch<T>(make: () => ObjectRef<T>): ObjectRef<T>[] {
  const refs: ObjectRef<T>[] = new Array(BATCH);
  for (let i = 0; i < BATCH; i++) refs[i] = make();
  return refs;
}

register({
  name: "1:1 actor calls sync",
  unit: "per_s",
  run: async () => {
    const a = Actor.remote();
    try {
      return await timeit(() => get(a.smallValue.remote()));
    } finally {
      await kill(a);
    }
  },
});

register({
  name: "1:1 actor calls async",
  unit: "per_s",
  run: async () => {
    const a = Actor.remote();
    try {
      return await timeit(() => get(batch(() => a.smallValue.remote())), BATCH);
    } finally {
      await kill(a);
    }
  },
});

register({
  name: "1:1 actor calls concurrent",
  unit: "per_s",
  run: async () => {
    const a = Actor.options({ maxConcurrency: 16 }).remote();
    try {
      return await timeit(() => get(batch(() => a.smallValue.remote())), BATCH);
    } finally {
      await kill(a);
    }
  },
});

register({
  name: "1:n actor calls async",
  unit: "per_s",
  run: async () => {
    const n = 5000;
    const actors = Array.from({ length: N_CPU }, () => Actor.remote());
    const client = Client.remote(actors);
    try {
      return await timeit(() => get(client.smallValueBatch.remote(n)), n * actors.length);
    } finally {
      await Promise.all([...actors, client].map((h) => kill(h)));
    }
  },
});

register({
  name: "n:n actor calls async",
  unit: "per_s",
  run: async () => {
    const n = 5000;
    const m = 4;
    const actors = Array.from({ length: N_CPU }, () => Actor.remote());
    try {
      return await timeit(() => get(Array.from({ length: m }, () => work.remote(actors, n))), m * n);
    } finally {
      await Promise.all(actors.map((h) => kill(h)));
    }
  },
});

register({
  name: "n:n actor calls with arg async",
  unit: "per_s",
  run: async () => {
    const n = 1000;
    const actors = Array.from({ length: N_CPU }, () => Actor.remote());
    const clients = actors.map((a) => Client.remote([a]));
    try {
      return await timeit(() => get(clients.map((c) => c.smallValueBatchArg.remote(n))), n * clients.length);
    } finally {
      await Promise.all([...actors, ...clients].map((h) => kill(h)));
    }
  },
});

register({
  name: "1:1 async-actor calls sync",
  unit: "per_s",
  run: async () => {
    const a = AsyncActor.remote();
    try {
      return await timeit(() => get(a.smallValue.remote()));
    } finally {
      await kill(a);
    }
  },
});

register({
  name: "1:1 async-actor calls async",
  unit: "per_s",
  run: async () => {
    const a = AsyncActor.remote();
    try {
      return await timeit(() => get(batch(() => a.smallValue.remote())), BATCH);
    } finally {
      await kill(a);
    }
  },
});

register({
  name: "actor create and first call",
  unit: "ms",
  // Median over several creations, each starting from a warm pool (as a long-running
  // driver sees it): the time from Cls.remote() to the first call's result.
  run: async () => {
    const times: number[] = [];
    let killedPid: number | undefined;
    for (let i = 0; i < 7; i++) {
      await poolSettled(killedPid);
      const t0 = performance.now();
      const a = Actor.remote();
      await get(a.smallValue.remote());
      times.push(performance.now() - t0);
      killedPid = await get(a.pid.remote());
      await kill(a);
    }
    times.sort((x, y) => x - y);
    return times[Math.floor(times.length / 2)]!;
  },
});

register({
  name: "idle actor rss",
  unit: "MB",
  run: async () => {
    const a = Actor.remote();
    try {
      const pid = await get(a.pid.remote());
      const rss = (await settledRssKb(pid)) / 1024;
      // RSS counts the node binary's pages, which every process on the machine shares;
      // the private part is what each further actor really costs.
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(rollup)?.[1] ?? 0);
      emit({
        name: "idle actor private memory",
        value: Math.round(((kb("Private_Clean") + kb("Private_Dirty")) / 1024) * 100) / 100,
        unit: "MB",
        pssMB: Math.round((kb("Pss") / 1024) * 100) / 100,
        sharedMB: Math.round(((kb("Shared_Clean") + kb("Shared_Dirty")) / 1024) * 100) / 100,
      });
      return rss;
    } finally {
      await kill(a);
    }
  },
});
