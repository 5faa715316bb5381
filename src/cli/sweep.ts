/**
 * What a standalone head killed by SIGKILL leaves behind (its `head-*` session
 * directory, the `latest-head` files naming it, its store segment in /dev/shm) is
 * removed by the next `tsray` command of any kind: the CLI is what a user runs next
 * on that machine, and nothing else is left to notice (its workers, if it had any
 * running, already unlinked the segment when their connection closed).
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { sessionRoot } from "../api/index.js";
import { removeStaleStoreFiles } from "../object-store/index.js";
import { isAlive } from "../util/index.js";
import { readHeadRecord, removeHeadFiles } from "./head-files.js";

/** A start younger than this without a pid file may still be running: its dir is kept. */
const YOUNG_START_MS = 60_000;

/**
 * Remove `head-*` and `node-*` session dirs whose process is gone. (They are not named `session-*`:
 * drivers delete those when the creating pid is dead, and this CLI exits right away.)
 */
export function removeStaleHeadDirs(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return; // No session root yet: nothing was ever started here.
  }
  for (const name of names) {
    const kind = name.startsWith("head-") ? "head" : name.startsWith("node-") ? "node" : undefined;
    if (!kind) continue;
    const dir = join(root, name);
    let pid = Number.NaN;
    try {
      pid = Number(readFileSync(join(dir, `${kind}.pid`), "utf8"));
    } catch {
      // No pid file: a start that failed early (or is running right now; keep young ones).
      const started = Number(name.split("-")[1]);
      if (Date.now() - started < YOUNG_START_MS) continue;
    }
    if (!Number.isInteger(pid) || !isAlive(pid)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Clean up after dead heads: the record of a recorded head that is gone, stale
 * `head-*` dirs, and store segments / spill dirs of dead pids. Never throws (a
 * sweep must not fail the command the user asked for).
 */
export function sweepDeadHeads(): void {
  try {
    const rec = readHeadRecord();
    if (rec && !isAlive(rec.pid)) {
      removeHeadFiles(rec);
      process.stderr.write(
        `tsray: the head at ${rec.address} (pid ${rec.pid}) is gone; removed its session files\n`,
      );
    }
    removeStaleHeadDirs(sessionRoot());
  } catch {
    // Unreadable session root: the command itself will report what matters.
  }
  removeStaleStoreFiles();
}
