/**
 * Helpers of the object-store tests: the store's capacity from init(), /dev/shm
 * segments by head pid, a garbage collector for the driver, checksums of arrays, and
 * the store's usage (from `ray.memory().objectStores`).
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as ray from "tsray";
import { type ArrayReport, reportArray } from "../fixtures/store-tasks.js";
import { pollUntil } from "../helpers/processes.js";

export const MiB = 1024 * 1024;

/** The store's capacity in bytes, as init() describes it ("shared-memory (...), N bytes"). */
export function storeBytes(info: ray.ClusterInfo): number {
  const m = /(\d+) bytes$/.exec(info.objectStore);
  assert.ok(m, `init().objectStore does not end with the store size: ${info.objectStore}`);
  return Number(m[1]);
}

/** Names in /dev/shm of the object-store segments of the head with pid `headPid`. */
export function storeSegments(headPid: number): string[] {
  try {
    return readdirSync("/dev/shm").filter((n) => n.startsWith(`tsray-${headPid}-store-`));
  } catch {
    return [];
  }
}

let gcFn: (() => void) | undefined;

/** A full garbage collection in this process (called without arguments: a full, synchronous one). */
export function gc(): void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
}

/**
 * Collect garbage until `check` holds (FinalizationRegistry callbacks run after a
 * collection, as tasks), at most `timeoutMs`; throws naming `what`.
 */
export async function collectUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    gc();
    await nextTurn();
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** The local node's object store, as `ray.memory()` reports it. */
export async function storeStats(): Promise<ray.ObjectStoreStats> {
  const stores = (await ray.memory()).objectStores;
  assert.equal(
    stores.length,
    1,
    `ray.memory() reports one object store per node (one node here), got ${stores.length}`,
  );
  return stores[0]!;
}

/**
 * Waits until the store holds nothing at all (no bytes, no objects in memory or
 * spilled), with a garbage collection in every process (driver and workers) before
 * each look: a test's starting baseline must not depend on when an earlier test's
 * views happen to be collected. `what` names the wait.
 */
export async function storeEmptiedEverywhere(timeoutMs: number, what: string): Promise<void> {
  await pollUntil(
    async () => {
      const s = (await ray.memory({ collectGarbage: true })).objectStores[0];
      return s !== undefined && s.usedBytes === 0 && s.numObjects === 0 && s.spilledObjects === 0;
    },
    timeoutMs,
    what,
    25,
  );
}

/** The bytes of the local node's object store in use (allocated), as the store reports it. */
export async function storeInUse(): Promise<number> {
  return (await storeStats()).usedBytes;
}

/** A Float64Array of `n` elements with a pattern that depends on `seed` (sentinels at both ends). */
export function patterned(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i += 511) a[i] = seed * 1e6 + i;
  a[0] = -seed - 1;
  a[n - 1] = seed + 0.5;
  return a;
}

/** The driver-side report of an array (same fields as a task's). */
export function report(v: ArrayBufferView): ArrayReport {
  return reportArray(v);
}

/** Asserts that `r` is a zero-copy view into a store of `capacity` bytes. */
export function assertView(r: ArrayReport, capacity: number, what: string): void {
  assert.equal(
    r.bufferByteLength,
    capacity,
    `${what}: its ArrayBuffer should be the whole arena (${capacity} bytes), got ${r.bufferByteLength} (a copy?)`,
  );
  assert.ok(r.bufferByteLength > r.byteLength, `${what}: the arena is larger than the array`);
  assert.equal(r.byteOffset % 64, 0, `${what}: array offset ${r.byteOffset} in the arena is 64-byte aligned`);
}

/** Asserts that `r` is a private copy (its ArrayBuffer holds exactly the array). */
export function assertCopy(r: ArrayReport, what: string): void {
  assert.equal(r.byteOffset, 0, `${what}: a copy starts at offset 0, got ${r.byteOffset}`);
  assert.equal(
    r.bufferByteLength,
    r.byteLength,
    `${what}: a copy's ArrayBuffer is the array's own, got ${r.bufferByteLength} for ${r.byteLength} bytes`,
  );
}
