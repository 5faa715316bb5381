import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type GcFn = (opts?: { type?: "minor" | "major" }) => void;
let gcFn: GcFn | undefined | null;

/**
 * Run a full garbage collection now, so FinalizationRegistry callbacks for dropped
 * refs and store views can run. Uses `globalThis.gc` when node runs with
 * --expose-gc, else enables it at runtime (a V8 flag). Returns false if impossible.
 */
export function collectGarbage(): boolean {
  if (gcFn === undefined) {
    gcFn = (globalThis as { gc?: GcFn }).gc ?? null;
    if (!gcFn) {
      try {
        setFlagsFromString("--expose-gc");
        gcFn = runInNewContext("gc") as GcFn;
      } catch {
        gcFn = null;
      }
    }
  }
  if (!gcFn) return false;
  gcFn(); // no options: a full, synchronous collection ({ type: "major" } does not collect here)
  return true;
}

/** Collect, then let finalization callbacks run (they are queued as tasks). */
export async function collectAndSettle(): Promise<void> {
  if (!collectGarbage()) return;
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}
