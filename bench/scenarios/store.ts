/**
 * Shared-memory object store scenarios (issue 5):
 * - `multi client put gigabytes`: PUT_TASKS tasks in parallel, each putting an 80 MB
 *   Float64Array PUTS_PER_TASK times (each ref released at once); total GB/s.
 * - `get 1 GiB typed array in another process`: the driver puts a 1 GiB
 *   Float64Array; a task in a worker times `ray.get` of it (a fresh pin each time:
 *   the previous view is collected first); the median of GET_SAMPLES, in ms.
 * - `spill and restore 2 GiB`: in a separate driver process with its own cluster
 *   and a 512 MiB store, put 16 Float64Arrays of 128 MiB (2 GiB; all refs kept, so
 *   most are spilled to disk), then read every one back (restored on demand) and
 *   check its sentinels; the value is 2 GiB / the wall time of puts + reads (GB/s).
 * `single client put gigabytes` lives in objects.ts. The store must hold 1 GiB at
 * once: bench/main.ts sizes it from `objectStoreMemory` of the selected scenarios.
 */
import { spawn } from "node:child_process";
import { get, init, type ObjectRef, put, remote, shutdown } from "tsray";
import { emit, register, roundValue, type Scenario, timeit } from "../harness.js";

const GIB = 1024 ** 3;
/** ~80 MB per put: several clients at once, each array held in its own worker. */
const PUT_ELEMENTS = 10 * 1024 * 1024;
const PUT_TASKS = 4;
const PUTS_PER_TASK = 5;
const GET_SAMPLES = 9;

/** Store size the scenarios here need in the shared bench cluster (read by bench/main.ts). */
const STORE_FOR_1GIB = 3 * GIB;

let cached: Float64Array | undefined;

/** Put one 80 MB array `times` times, releasing each ref (the array is made once per worker). */
export const putRepeatedly = remote(async (times: number, elements: number) => {
  if (cached?.length !== elements) cached = new Float64Array(elements).fill(1);
  for (let i = 0; i < times; i++) (await put(cached)).release();
  return times;
});

type GcFn = () => void;

/**
 * Time `ray.get` of the ref inside this worker: collect first so the previous get's
 * view is gone and this one pins the object anew (a round trip to the node manager).
 * Returns milliseconds, and checks what it got.
 */
export const timeGet = remote(async (holder: { ref: ObjectRef<Float64Array> }, elements: number) => {
  const gc = (globalThis as { gc?: GcFn }).gc;
  if (gc) {
    gc();
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
  }
  const t0 = performance.now();
  const v = await get(holder.ref);
  const ms = performance.now() - t0;
  if (v.length !== elements || v[0] !== -1 || v[elements - 1] !== 1)
    throw new Error(`the 1 GiB array read back wrong: length ${v.length}, ends ${v[0]}, ${v[elements - 1]}`);
  return { ms, view: v.buffer.byteLength > v.byteLength };
});

register({
  name: "multi client put gigabytes",
  unit: "GB_per_s",
  run: async () =>
    timeit(
      () => get(Array.from({ length: PUT_TASKS }, () => putRepeatedly.remote(PUTS_PER_TASK, PUT_ELEMENTS))),
      (PUT_TASKS * PUTS_PER_TASK * PUT_ELEMENTS * 8) / 1e9,
    ),
});

register({
  name: "get 1 GiB typed array in another process",
  unit: "ms",
  objectStoreMemory: STORE_FOR_1GIB,
  run: async () => {
    const elements = GIB / 8;
    let arr: Float64Array | undefined = new Float64Array(elements);
    arr[0] = -1;
    arr[elements - 1] = 1;
    const ref = await put(arr);
    arr = undefined;
    try {
      const samples: number[] = [];
      let views = 0;
      // The first call may map the arena in that worker: a warm-up, not a sample.
      await get(timeGet.remote({ ref }, elements));
      for (let i = 0; i < GET_SAMPLES; i++) {
        const r = await get(timeGet.remote({ ref }, elements));
        samples.push(r.ms);
        if (r.view) views++;
      }
      if (views !== GET_SAMPLES) throw new Error(`only ${views} of ${GET_SAMPLES} gets were zero-copy views`);
      samples.sort((a, b) => a - b);
      return samples[Math.floor(samples.length / 2)]!;
    } finally {
      ref.release();
    }
  },
} as Scenario);

register({
  name: "spill and restore 2 GiB",
  unit: "GB_per_s",
  limitSeconds: 300,
  run: () => runSpillChild(),
} as Scenario);

// ---- spill and restore: a driver process of its own (its own, smaller store) ----

/** Set in the environment of the spill driver process. */
const SPILL_ENV = "TSRAY_BENCH_SPILL_CHILD";
const SPILL_STORE = 512 * 1024 * 1024;
const SPILL_OBJECT_ELEMENTS = (128 * 1024 * 1024) / 8;
const SPILL_OBJECTS = 16;

/**
 * Run spillChild() in a new driver process. Its entry is an `-e` script that imports
 * this module (an entry script may not define remote functions that use imports).
 */
function runSpillChild(): Promise<number> {
  const url = import.meta.url;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", `await import(${JSON.stringify(url)});`],
      { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, [SPILL_ENV]: "1" } },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) return reject(new Error(`the spill driver exited with code ${code}: ${out}`));
      const r = JSON.parse(line) as { value: number; putSeconds: number; readSeconds: number; bytes: number };
      // The two phases, as extra lines (GB/s of each).
      emit({
        name: "spill and restore 2 GiB: put phase",
        value: roundValue(r.bytes / 1e9 / r.putSeconds),
        unit: "GB_per_s",
      });
      emit({
        name: "spill and restore 2 GiB: read phase",
        value: roundValue(r.bytes / 1e9 / r.readSeconds),
        unit: "GB_per_s",
      });
      resolve(r.value);
    });
  });
}

async function spillChild(): Promise<void> {
  await init({ numCpus: 1, objectStoreMemory: SPILL_STORE, logToDriver: false });
  try {
    const n = SPILL_OBJECT_ELEMENTS;
    const arr = new Float64Array(n);
    const refs: ObjectRef<Float64Array>[] = [];
    const t0 = performance.now();
    for (let k = 0; k < SPILL_OBJECTS; k++) {
      arr[0] = -k;
      arr[n >> 1] = k;
      arr[n - 1] = k + 0.5;
      refs.push(await put(arr));
    }
    const putSeconds = (performance.now() - t0) / 1000;
    for (let k = 0; k < SPILL_OBJECTS; k++) {
      let v: Float64Array | undefined = await get(refs[k]!);
      if (v[0] !== -k || v[n >> 1] !== k || v[n - 1] !== k + 0.5)
        throw new Error(`object ${k} read back wrong`);
      v = undefined;
      // Drop the view now so the object can be spilled again for the next restore.
      (globalThis as { gc?: GcFn }).gc?.();
    }
    const seconds = (performance.now() - t0) / 1000;
    const bytes = SPILL_OBJECTS * n * 8;
    process.stdout.write(
      `${JSON.stringify({ value: bytes / 1e9 / seconds, seconds, putSeconds, readSeconds: seconds - putSeconds, bytes })}\n`,
    );
    for (const r of refs) r.release();
  } finally {
    await shutdown();
  }
}

if (process.env[SPILL_ENV] === "1") {
  delete process.env[SPILL_ENV]; // not for the workers of its cluster
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  (globalThis as { gc?: GcFn }).gc = runInNewContext("gc") as GcFn;
  await spillChild();
}
