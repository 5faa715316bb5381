import { readFileSync } from "node:fs";

/**
 * True while a process with this pid runs. A zombie (exited, not yet reaped: an
 * orphaned head's new parent may never reap it) counts as gone; a process of another
 * user (EPERM) counts as running. Off Linux, where /proc is missing, a pid that
 * answers `kill(pid, 0)` counts as running.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name (field 2) may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  } catch {
    // On Linux the entry vanished between the two calls: the process is gone.
    return process.platform !== "linux";
  }
}
