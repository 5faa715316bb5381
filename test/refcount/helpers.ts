/**
 * Helpers of the reference-counting tests: a garbage collector for the driver
 * (the test process runs without --expose-gc), reads of `ray.memory()`, and
 * bounded polls on it.
 */
import { existsSync, readFileSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as ray from "tsray";
import { pollUntil } from "../helpers/processes.js";

let gcFn: (() => void) | undefined;

/** A function that runs a full garbage collection in this process. */
export function gc(): () => void {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  return gcFn;
}

/**
 * Collect garbage in this process until `check` holds (FinalizationRegistry
 * callbacks run asynchronously after a collection, so each round collects, then
 * yields). Throws after `timeoutMs` naming `what`.
 */
export async function collectUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const collect = gc();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    collect();
    await nextTurn();
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** The cluster-wide entry of one object in `ray.memory()`, if it is alive anywhere. */
export async function objectInfo(id: string): Promise<ray.ObjectSummary | undefined> {
  return (await ray.memory()).objects.find((o) => o.id === id);
}

/** Every reason any process gives for holding `id` ("1 local ref", "borrowed by 1 process", ...). */
export function allReasons(o: ray.ObjectSummary | undefined): string[] {
  return o ? o.heldBy.flatMap((h) => h.reasons) : [];
}

/** Resolves once none of `ids` is listed by `ray.memory()` in any process. */
export async function expectGone(ids: readonly string[], timeoutMs: number, what: string): Promise<void> {
  const wanted = new Set(ids);
  await pollUntil(
    async () => !(await ray.memory()).objects.some((o) => wanted.has(o.id)),
    timeoutMs,
    what,
    25,
  );
}

/** This driver's entry in `ray.memory().processes`. */
export async function driverEntry(): Promise<ray.MemorySummary["processes"][number]> {
  const entry = (await ray.memory()).processes.find((p) => p.pid === process.pid);
  if (!entry) throw new Error(`ray.memory() lists no process with the driver's pid ${process.pid}`);
  return entry;
}

/** Resolves once `file` exists (a task announced itself). */
export function fileAppears(file: string, timeoutMs: number): Promise<boolean> {
  return pollUntil(() => existsSync(file), timeoutMs, `file ${file}`);
}

/**
 * The content of a file another process announces itself in, once it is there and
 * not empty: writeFileSync creates the file before it writes, so a reader polling
 * for the file alone can read it empty.
 */
export function fileContent(file: string, timeoutMs: number): Promise<string> {
  return pollUntil(
    () => {
      const text = existsSync(file) ? readFileSync(file, "utf8") : "";
      return text === "" ? undefined : text;
    },
    timeoutMs,
    `file ${file} with content`,
  );
}

/** The state and death cause of one actor in `ray.listActors()`. */
export async function actorInfo(
  actorId: string,
): Promise<{ state: string; deathCause?: string } | undefined> {
  return (await ray.listActors()).find((a) => a.actorId === actorId);
}

/** The actor id of a handle (from its printed form `ActorHandle(Class, id)`). */
export function actorIdOf(handle: object): string {
  const m = /ActorHandle\([^,]+, ([^)]+)\)/.exec(String(handle));
  if (!m) throw new Error(`cannot read the actor id of ${String(handle)}`);
  return m[1]!;
}

/** Drop one copy of an actor handle now (`handle.release()`). */
export function releaseHandle(handle: object): void {
  (handle as { release(): void }).release();
}
