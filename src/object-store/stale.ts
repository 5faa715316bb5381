import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { config } from "../config/index.js";
import { removeSegmentsOfDeadCreators } from "../shm/index.js";
import { isAlive } from "../util/index.js";

/** Tag of the store arena's segment name: `/tsray-<head pid>-store-<n>`. */
export const STORE_SEGMENT_TAG = "store";

/**
 * Remove what the object stores of dead heads left: their arena segments (the
 * creating head's pid is in the name) and, when TSRAY_SPILL_DIR is set, their
 * `<spill dir>/tsray-<pid>` spill directories (spill files under a session
 * directory go with that directory). Called by whoever may be first to know a head
 * died: its driver (child exit), its workers (node-manager connection closed), the
 * next store to start, and every `tsray` command. Never throws; returns the
 * segment names removed.
 */
export function removeStaleStoreFiles(): string[] {
  let removed: string[] = [];
  try {
    removed = removeSegmentsOfDeadCreators(STORE_SEGMENT_TAG);
  } catch {
    // No usable shared-memory backend here: nothing of ours can be in it.
  }
  const spillRoot = config().spillDir;
  if (spillRoot) {
    let names: string[] = [];
    try {
      names = readdirSync(spillRoot);
    } catch {
      // Not created yet, or unreadable: nothing to sweep.
    }
    for (const name of names) {
      const m = /^tsray-(\d+)$/.exec(name);
      if (m && !isAlive(Number(m[1]))) rmSync(join(spillRoot, name), { recursive: true, force: true });
    }
  }
  return removed;
}
