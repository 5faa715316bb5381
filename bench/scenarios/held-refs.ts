/**
 * `driver bytes per held ref` (issue 16, point 9): what one ref held in the driver
 * costs in its V8 heap. Puts HELD_REFS small values (default 200,000; set 1000000 for
 * the issue's 1M), holds every ref, runs a full collection and reports
 * (heapUsed after − heapUsed before) / HELD_REFS in bytes. The figure covers
 * everything a held put costs: the ObjectRef, its id, the owner's table entry and
 * map slot, the FinalizationRegistry cell, the value, and the driver's own array
 * slot holding the ref (8 bytes). Extra lines give the RSS growth per ref, what
 * dropping every ref (left to the garbage collector, as a script forgets them)
 * gives back after a full collection, and the driver's heap over 10 rounds of
 * HELD_REFS / 10 puts dropped in bulk with no forced collection (V8's own minor and
 * major collections only: per-ref bookkeeping that survives into old space shows
 * as growth there), and the cost per held put of a small object (`{ i }`, kept
 * encoded).
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { memory, type ObjectRef, put } from "tsray";
import { collect, emit, register, type Scenario } from "../harness.js";

const MB = 1024 * 1024;

/** A positive integer from the environment, else `fallback`. */
function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer, got ${raw}`);
  return n;
}

/** Collect until the driver tracks at most `objects` entries (finalizers run as tasks), bounded. */
async function settle(objects: number): Promise<number> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    collect();
    for (let i = 0; i < 3; i++) await nextTurn();
    const mine = (await memory()).processes.find((p) => p.pid === process.pid);
    const n = mine?.objects ?? 0;
    if (n <= objects || performance.now() > deadline) {
      collect();
      return n;
    }
  }
}

/** `n` puts of small numbers (or of small objects, kept encoded), every ref kept. */
async function putMany(n: number, objects = false): Promise<ObjectRef<unknown>[]> {
  const refs: ObjectRef<unknown>[] = new Array(n);
  if (objects) for (let i = 0; i < n; i++) refs[i] = await put({ i });
  else for (let i = 0; i < n; i++) refs[i] = await put(i);
  return refs;
}

const round = (v: number) => Math.round(v * 100) / 100;

const heldRefs: Scenario & { readonly limitSeconds: number } = {
  name: "driver bytes per held ref",
  unit: "bytes",
  limitSeconds: 600,
  run: async () => {
    const n = envCount("HELD_REFS", 200_000);
    (await putMany(Math.min(n, 10_000))).length = 0; // warm up: code compiled, tables grown once
    const baseObjects = await settle(0);
    const before = process.memoryUsage();
    let refs: ObjectRef<unknown>[] | undefined = await putMany(n);
    collect();
    const held = process.memoryUsage();
    const perRef = (held.heapUsed - before.heapUsed) / n;
    emit({
      name: "driver bytes per held ref: rss",
      value: round((held.rss - before.rss) / n),
      unit: "bytes",
      refs: n,
      rssBeforeMB: round(before.rss / MB),
      rssHeldMB: round(held.rss / MB),
    });
    if (refs.length !== n) throw new Error("lost refs"); // keeps `refs` alive up to here
    refs = undefined;
    const left = await settle(baseObjects);
    const dropped = process.memoryUsage();
    emit({
      name: "driver bytes per held ref: heap reclaimed after drop",
      value: round((held.heapUsed - dropped.heapUsed) / MB),
      unit: "MB",
      heapBeforeMB: round(before.heapUsed / MB),
      heapHeldMB: round(held.heapUsed / MB),
      heapDroppedMB: round(dropped.heapUsed / MB),
      objectsLeft: left - baseObjects,
    });
    // Bulk drops with only V8's own collections: heap after each round, not forced.
    const rounds = 10;
    const per = Math.max(1, Math.floor(n / rounds));
    const heapMB: number[] = [];
    const start = process.memoryUsage().heapUsed;
    for (let r = 0; r < rounds; r++) {
      const batch = await putMany(per);
      batch.length = 0;
      for (let i = 0; i < 3; i++) await nextTurn();
      heapMB.push(round(process.memoryUsage().heapUsed / MB));
    }
    emit({
      name: "driver bytes per held ref: heap growth over 10 bulk drops",
      value: round(Math.max(...heapMB) - start / MB),
      unit: "MB",
      putsPerRound: per,
      heapStartMB: round(start / MB),
      heapMB,
    });
    await settle(baseObjects);
    // Small objects are kept encoded (msgpack bytes): the bytes' view costs on top.
    const objBefore = process.memoryUsage().heapUsed;
    let objRefs: ObjectRef<unknown>[] | undefined = await putMany(n, true);
    collect();
    const objHeld = process.memoryUsage().heapUsed;
    emit({
      name: "driver bytes per held ref: small object values",
      value: round((objHeld - objBefore) / n),
      unit: "bytes",
      refs: objRefs.length,
      value_: "{ i }",
    });
    objRefs = undefined;
    await settle(baseObjects);
    return perRef;
  },
};
register(heldRefs);
