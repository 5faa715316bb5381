/** Actor scenarios of Ray's microbenchmark, plus actor creation latency and idle memory. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { get, kill, type ObjectRef } from "tsray";
import { Actor, AsyncActor, Client, work } from "../actors.js";
import { register, timeit } from "../harness.js";

const BATCH = 1000;
/** Ray uses cpu_count() // 2 actors for the n:n scenarios. */
const N_CPU = Math.max(1, Math.floor(availableParallelism() / 2));

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
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const a = Actor.remote();
      await get(a.smallValue.remote());
      times.push(performance.now() - t0);
      await kill(a);
      // Let the node manager's pool refill before the next creation.
      await new Promise((r) => setTimeout(r, 300));
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
      await new Promise((r) => setTimeout(r, 1000)); // let it settle after start-up
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      return kb / 1024;
    } finally {
      await kill(a);
    }
  },
});
