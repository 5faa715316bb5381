// Shared-memory measurements quoted in docs/design/shm.md. Not a test; run with
//   node --import tsx test/shm/measure.ts [sizeMiB=1024]
// Prints one JSON line per figure: {"name", "value", "unit", "backend"}.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { getShmBackend, newSegmentName, type Segment, type ShmBackend } from "../../src/shm/index.js";

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 1024) * MiB;
const CHUNK = 64 * MiB;
const source = new Uint8Array(CHUNK).fill(7);
const names: string[] = [];

function emit(name: string, value: number, unit: string, backend: string): void {
  console.log(JSON.stringify({ name, value: Number(value.toFixed(3)), unit, backend }));
}

function fill(seg: Segment): number {
  const t0 = performance.now();
  for (let off = 0; off < seg.size; off += CHUNK) {
    seg.write(off, source.subarray(0, Math.min(CHUNK, seg.size - off)));
  }
  return performance.now() - t0;
}

const gbps = (ms: number) => size / 1e9 / (ms / 1e3);

function fresh(shm: ShmBackend, tag: string, reserve = false): Segment {
  const name = newSegmentName(tag);
  names.push(name);
  return shm.createSegment(name, size, { reserve });
}

async function main(): Promise<void> {
  const shm = getShmBackend("native");
  const sizeLabel = `${size / MiB} MiB`;

  const heap = new Uint8Array(size);
  for (let off = 0; off < size; off += CHUNK) heap.set(source.subarray(0, Math.min(CHUNK, size - off)), off);
  let t0 = performance.now();
  for (let off = 0; off < size; off += CHUNK) heap.set(source.subarray(0, Math.min(CHUNK, size - off)), off);
  emit(`memcpy into warm heap memory (${sizeLabel})`, gbps(performance.now() - t0), "GB/s", "none");

  const a = fresh(shm, "fresh");
  emit(`write into a fresh segment (${sizeLabel})`, gbps(fill(a)), "GB/s", shm.kind);
  emit(`write again into the same, now warm, pages`, gbps(fill(a)), "GB/s", shm.kind);

  const b = fresh(shm, "pretouch");
  t0 = performance.now();
  await b.pretouch();
  const pretouchMs = performance.now() - t0;
  emit(`pretouch (MADV_POPULATE_WRITE) of a fresh segment (${sizeLabel})`, pretouchMs, "ms", shm.kind);
  emit(`write into a pre-touched segment (${sizeLabel})`, gbps(fill(b)), "GB/s", shm.kind);

  t0 = performance.now();
  const c = fresh(shm, "reserve", true);
  emit(`create with reserve: true (posix_fallocate, ${sizeLabel})`, performance.now() - t0, "ms", shm.kind);
  emit(`write into a reserved (fallocated) segment`, gbps(fill(c)), "GB/s", shm.kind);
  c.close();

  // Another process maps segment `a` (pages already allocated in /dev/shm).
  const child = fork(fileURLToPath(new URL("./fixtures/shm-child.ts", import.meta.url)), ["serve"], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, TSRAY_SHM_BACKEND: "native" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const replies: ((m: Record<string, unknown>) => void)[] = [];
  child.on("message", (m: Record<string, unknown>) => {
    if ("ok" in m) replies.shift()?.(m);
  });
  await new Promise<void>((resolve) => child.once("message", () => resolve()));
  const ask = (request: object) =>
    new Promise<Record<string, unknown>>((resolve) => {
      replies.push(resolve);
      child.send(request);
    });
  const opened = await ask({ cmd: "open", name: a.name });
  emit(`map a ${sizeLabel} segment in another process (openSegment)`, Number(opened.openMs), "ms", shm.kind);
  emit(`then view all of it as a Float64Array there (a get)`, Number(opened.viewUs), "us", shm.kind);
  const filled = await ask({ cmd: "fill", value: 9, chunk: CHUNK });
  emit(
    `other process: first write over pages another process touched`,
    gbps(Number(filled.ms)),
    "GB/s",
    shm.kind,
  );
  const refilled = await ask({ cmd: "fill", value: 10, chunk: CHUNK });
  emit(`other process: second write`, gbps(Number(refilled.ms)), "GB/s", shm.kind);
  const again = await ask({ cmd: "open", name: b.name });
  emit(`map a second ${sizeLabel} segment in that process`, Number(again.openMs), "ms", shm.kind);
  const touched = await ask({ cmd: "pretouch" });
  emit(`other process: pretouch of pages another process touched`, Number(touched.ms), "ms", shm.kind);
  const afterTouch = await ask({ cmd: "fill", value: 11, chunk: CHUNK });
  emit(`other process: write after that pretouch`, gbps(Number(afterTouch.ms)), "GB/s", shm.kind);
  child.kill("SIGKILL");
  a.close();
  b.close();

  const js = getShmBackend("js-fallback");
  const d = fresh(js, "fallback");
  emit(`fallback: write into a fresh file segment (${sizeLabel})`, gbps(fill(d)), "GB/s", js.kind);
  emit(`fallback: write again`, gbps(fill(d)), "GB/s", js.kind);
  t0 = performance.now();
  for (let off = 0; off < size; off += CHUNK) d.read(off, Math.min(CHUNK, size - off));
  emit(`fallback: read (copy) ${sizeLabel}`, gbps(performance.now() - t0), "GB/s", js.kind);
  d.close();
}

try {
  await main();
} finally {
  for (const name of names) getShmBackend("js-fallback").unlinkSegment(name);
}
